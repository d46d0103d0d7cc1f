"""LBGAT as a method: the guide's logits reach the main head's terms and take the gradient."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf.methods import Passes
from again_tf.methods.lbgat import LBGAT
from again_tf.models.outputs import ModelOutputs
from tests.methods.helpers import make
from tests.objectives.helpers import ADV, GUIDE, Y, softmax


def test_lbgat0_mse_and_guide_ce_reach_the_guide():
    method = make(LBGAT, beta=0.0)
    guide = tf.Variable(GUIDE)
    with tf.GradientTape() as tape:
        passes = Passes(ModelOutputs(tf.constant(ADV)), None, {"guide_logits": guide})
        loss = tf.reduce_sum(method.terms(passes, Y)["loss"])
    grad = tape.gradient(loss, guide).numpy()
    expected = -2.0 * (ADV - GUIDE) / 3 + (softmax(GUIDE) - np.eye(3)[Y])
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="guide network's logits"):
        method.terms(Passes(ModelOutputs(tf.constant(ADV))), Y)
