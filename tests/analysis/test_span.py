import numpy as np
import pytest

from again_tf.analysis import effective_support, mass_span


def test_uniform_single_pixel_and_hand_computed_maps():
    uniform = np.ones((1, 10, 10))
    single = np.zeros((1, 10, 10))
    single[0, 3, 4] = -5.0  # the sign does not matter
    np.testing.assert_allclose(mass_span(uniform), [0.8])
    np.testing.assert_allclose(effective_support(uniform), [1.0])
    np.testing.assert_allclose(mass_span(single), [0.01])
    np.testing.assert_allclose(effective_support(single), [0.01])
    halves = np.array([[[0.5, 0.3], [0.2, 0.0]]])  # 0.5 + 0.3 reaches 0.8 with 2 of 4 pixels
    np.testing.assert_allclose(mass_span(halves), [0.5])
    p = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(effective_support(halves), [np.exp(-(p * np.log(p)).sum()) / 4])


def test_a_zero_map_counts_as_uniform_and_mass_is_validated():
    np.testing.assert_allclose(effective_support(np.zeros((2, 3, 3))), [1.0, 1.0])
    with pytest.raises(ValueError, match=r"mass must be in \(0, 1\]"):
        mass_span(np.ones((1, 2, 2)), mass=0.0)
