"""AWP as a wrapper: the perturbation is taken back after the gradient, and everything else is
the wrapped method's."""

import numpy as np
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model
from again_tf.methods import AWP
from again_tf.methods.trades import TRADES
from tests.engine.helpers import fashion, tiny_config

INFO = dataset_info("fashion_mnist")


def test_awp_restores_the_weights_it_perturbs():
    """With lr 0 and no weight decay the weights after a step equal the weights before."""
    config = tiny_config("again_awp_pgd_at", **{"optim.lr": "1e-12", "optim.weight_decay": "0",
                                                "optim.momentum": "0"})
    model = compile_model(build_model(config, INFO), config, steps_per_epoch=4)
    x, y = (tf.constant(a) for a in fashion(32, 1)[:2])
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.train_on_batch(x, y)
    for b, w in zip(before, model.trainable_weights):
        np.testing.assert_allclose(w.numpy(), b, atol=1e-6)


def test_awp_delegates_to_the_wrapped_method():
    config = tiny_config("awp_trades")
    model = compile_model(build_model(config, INFO), config, steps_per_epoch=4)
    assert isinstance(model.method, AWP) and isinstance(model.method.inner, TRADES)
    assert model.method.term_names == ("ce_clean", "kl") and model.method.warmup_steps == 0
    assert model.method.get_config()["awp_gamma"] == config.objective.awp_gamma
