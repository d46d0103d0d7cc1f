"""TRADES and MART as methods: F(x) in the passes, each ASE head its own terms, TRADES' KL attack."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf import randomness
from again_tf.data import dataset_info
from again_tf.engine import build_model
from again_tf.methods import Passes, build_method
from again_tf.methods.mart import MART
from again_tf.methods.trades import TRADES
from again_tf.models.outputs import ModelOutputs
from again_tf.objectives import mart_terms, trades_terms
from tests.engine.helpers import fashion, tiny_config
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


@pytest.mark.parametrize("paired", [True, False])
def test_with_paired_draws_again_trades_passes_agree_when_x_adv_is_x(paired):
    """x_adv = x: with shared draws (HFF mix, ASE's y') the clean and adversarial passes are the
    same computation, so TRADES' KL is exactly 0 on the main and both ASE heads; with independent
    draws it has a floor."""
    config = tiny_config("again_trades", **{"again.paired_draws": str(paired).lower()})
    model = build_model(config, dataset_info("fashion_mnist"))
    method = build_method(config, steps_per_epoch=4)
    x, y = (tf.constant(a) for a in fashion(32, 1)[:2])
    with randomness.step_seed(tf.constant([3, 9], tf.int64)):
        passes = method.forward(model, x, x, y, training=True)
        terms = method.terms(passes, y)
    heads = list(zip([passes.adv.logits, *passes.adv.aux_logits],
                     [passes.clean.logits, *passes.clean.aux_logits]))
    assert len(heads) == 3 and all(np.array_equal(a.numpy(), c.numpy()) for a, c in heads) == paired
    kls = [float(tf.reduce_max(trades_terms(clean, adv, y)["kl"])) for adv, clean in heads]
    assert float(tf.reduce_max(terms["kl"])) == kls[0]
    assert all(kl == 0.0 for kl in kls) if paired else all(kl > 1e-3 for kl in kls)
