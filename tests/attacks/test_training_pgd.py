"""The training PGD's early stop (FAT's tau steps after the first misclassified iterate)."""

import numpy as np
import tensorflow as tf

from again_tf.attacks.training_pgd import training_pgd


def _threshold_model(images):
    """Label 0 while the mean pixel is below 0.25: each +0.1 step raises the mean by 0.1."""
    s = tf.reduce_mean(images, axis=[1, 2, 3])
    return tf.stack([0.25 - s, tf.zeros_like(s)], axis=1)


def _attack(stop_after, steps=10):
    x, y = tf.zeros((1, 2, 2, 1)), tf.constant([0])
    return training_pgd(_threshold_model, x, y, eps=1.0, step_size=0.1, steps=steps, init="none",
                        stop_after=stop_after)


def test_an_example_stops_tau_steps_after_it_is_first_misclassified():
    # Iterates 0, 0.1, 0.2, 0.3: misclassified first at 0.3, then tau more steps.
    for tau in (0, 1, 2, 4):
        np.testing.assert_allclose(_attack(tau).numpy(), 0.3 + 0.1 * tau, atol=1e-6)
    np.testing.assert_allclose(_attack(None).numpy(), 1.0, atol=1e-6)  # plain PGD: all 10 steps
    np.testing.assert_allclose(_attack(0).numpy(), _attack(None, steps=3).numpy())  # stop = fewer steps


def test_early_stopping_is_per_example_and_judged_on_the_labels():
    x = tf.constant(np.stack([np.zeros((2, 2, 1)), np.full((2, 2, 1), 0.3)]), tf.float32)
    x_adv = training_pgd(_threshold_model, x, tf.constant([0, 0]), eps=1.0, step_size=0.1, steps=5,
                         init="none", stop_after=1)
    # The first needs 3 steps to flip then takes 1 more; the second starts misclassified.
    np.testing.assert_allclose(x_adv.numpy()[:, 0, 0, 0], [0.4, 0.4], atol=1e-6)


def test_step_noise_moves_the_iterate_by_about_its_std():
    """A model with zero gradient: the sign step is 0, so only the noise moves the point."""
    x, y = tf.fill((256, 2, 2, 1), 0.5), tf.zeros([256], tf.int32)
    flat = lambda images: 0.0 * tf.stack([tf.reduce_sum(images, axis=[1, 2, 3])] * 2, 1)  # noqa: E731
    moved = training_pgd(flat, x, y, eps=1.0, step_size=0.1, steps=1, init="none", step_noise=0.01)
    assert abs(float(tf.math.reduce_std(moved - x)) - 0.01) < 0.002
    still = training_pgd(flat, x, y, eps=1.0, step_size=0.1, steps=1, init="none")
    np.testing.assert_array_equal(still.numpy(), x.numpy())
