"""LBGAT: MSE to the guide's clean logits + the guide's CE + beta * TRADES' KL, by hand."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf.models.outputs import ModelOutputs
from again_tf.objectives import LBGAT, lbgat_terms
from tests.objectives.test_objectives import ADV, CLEAN, Y, _ce, _softmax

GUIDE = np.array([[1.0, -1.0, 0.0], [0.0, 3.0, 1.0]], np.float32)


def test_lbgat_terms_by_hand():
    p, q = _softmax(CLEAN), _softmax(ADV)
    kl = (p * np.log(p / q)).sum(1)
    mse = ((ADV - GUIDE) ** 2).mean(1)
    terms = lbgat_terms(ADV, CLEAN, GUIDE, Y, beta=6.0)
    np.testing.assert_allclose(terms["mse"].numpy(), mse, rtol=1e-6)
    np.testing.assert_allclose(terms["ce_guide"].numpy(), _ce(GUIDE, Y), rtol=1e-6)
    np.testing.assert_allclose(terms["loss"].numpy(), mse + _ce(GUIDE, Y) + 6.0 * kl, rtol=1e-5)
    # PyTorch's MSELoss() averages over batch and classes: the batch mean of our per-example term.
    np.testing.assert_allclose(terms["mse"].numpy().mean(), ((ADV - GUIDE) ** 2).mean(), rtol=1e-6)


def test_lbgat0_runs_the_clean_forward_and_the_mse_reaches_the_guide():
    objective = LBGAT(beta=0.0)
    assert objective.needs_clean_forward  # BN statistics see clean batches, as in the original
    guide = tf.Variable(GUIDE)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(objective.loss_terms(ModelOutputs(tf.constant(ADV)), None, Y, guide)["loss"])
    grad = tape.gradient(loss, guide).numpy()
    expected = -2.0 * (ADV - GUIDE) / 3 + (_softmax(GUIDE) - np.eye(3)[Y])
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="guide network's logits"):
        objective.loss_terms(ModelOutputs(tf.constant(ADV)), None, Y)
