"""TRADES and MART as methods: F(x) in the passes, each ASE head its own terms, TRADES' KL attack."""

import numpy as np
import tensorflow as tf

from again_tf.methods import Passes
from again_tf.methods.mart import MART
from again_tf.methods.trades import TRADES
from again_tf.models.outputs import ModelOutputs
from again_tf.objectives import mart_terms, trades_terms
from tests.methods.helpers import make
from tests.objectives.helpers import ADV, CLEAN, Y, softmax


def test_trades_and_mart_give_the_aux_heads_their_own_terms():
    adv = ModelOutputs(tf.constant(ADV), (tf.constant(ADV * 2),))
    clean = ModelOutputs(tf.constant(CLEAN), (tf.constant(CLEAN * 2),))
    cases = ((make(TRADES, beta_aux=1.5, beta=6.0), trades_terms),
             (make(MART, beta_aux=1.5, lam=6.0), mart_terms))
    for method, fn in cases:
        terms = method.terms(Passes(adv, clean), Y)
        aux = fn(CLEAN * 2, ADV * 2, Y, 6.0)["loss"].numpy()
        main = fn(CLEAN, ADV, Y, 6.0)["loss"].numpy()
        np.testing.assert_allclose(terms["loss"].numpy(), main + 1.5 * aux, rtol=1e-5)
        assert set(method.term_names) < set(terms)


def test_trades_attack_maximises_kl_to_the_clean_reference():
    reference = ModelOutputs(tf.constant(CLEAN))
    loss = make(TRADES, beta=6.0).attack_loss(reference)(ModelOutputs(tf.constant(ADV)), Y)
    p, q = softmax(CLEAN), softmax(ADV)
    np.testing.assert_allclose(loss.numpy(), (p * np.log(p / q)).sum(1), rtol=1e-5)
