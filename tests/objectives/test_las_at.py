"""LAS-AT's target loss: the smoothed CE by hand."""

import numpy as np

from again_tf.objectives import smoothed_cross_entropy
from tests.objectives.helpers import ADV, Y, softmax


def test_smoothed_cross_entropy_by_hand():
    target = np.full((2, 3), 0.15)
    target[np.arange(2), Y] = 0.7
    expected = -(target * np.log(softmax(ADV))).sum(1)
    np.testing.assert_allclose(smoothed_cross_entropy(ADV, Y, 0.7).numpy(), expected, rtol=1e-6)
