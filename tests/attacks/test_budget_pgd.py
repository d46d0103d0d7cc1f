"""budget_pgd: each example moves its own number of steps of its own size inside its own ball."""

import numpy as np
import tensorflow as tf

from again_tf.attacks.budget_pgd import budget_pgd


def _rising(images):
    """CE for label 1 grows with the pixel sum: every step moves each pixel by +step."""
    s = tf.reduce_sum(images, axis=[1, 2, 3])
    return tf.stack([s, tf.zeros_like(s)], axis=1)


def test_each_example_takes_its_steps_inside_its_ball():
    x = tf.fill((3, 2, 2, 1), 0.25)
    x_adv = budget_pgd(_rising, x, tf.constant([1, 1, 1]), eps=tf.constant([0.5, 0.15, 0.5]),
                       step_size=tf.constant([0.1, 0.1, 0.05]), steps=tf.constant([2, 3, 4]),
                       start_eps=0.0)
    # 2 x 0.1; 3 x 0.1 projected to 0.15; 4 x 0.05
    np.testing.assert_allclose(x_adv.numpy()[:, 0, 0, 0], [0.45, 0.40, 0.45], atol=1e-6)


def test_the_common_random_start_is_projected_into_each_ball_and_the_box():
    x = tf.constant(np.random.default_rng(0).uniform(size=(64, 4, 4, 1)), tf.float32)
    eps = tf.constant(np.random.default_rng(1).choice([0.01, 0.05, 0.2], 64), tf.float32)
    x_adv = budget_pgd(_rising, x, tf.ones(64, tf.int32), eps=eps, step_size=eps / 4,
                       steps=tf.fill([64], 1), start_eps=0.1)
    gap = np.abs(x_adv.numpy() - x.numpy()).max(axis=(1, 2, 3))
    assert np.all(gap <= eps.numpy() + 1e-6)
    assert x_adv.numpy().min() >= 0.0 and x_adv.numpy().max() <= 1.0
