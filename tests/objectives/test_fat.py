"""FAT: early-stopped PGD (tau steps after the first misclassified iterate), the tau schedule."""

import numpy as np
import tensorflow as tf

from again_tf.attacks.pgd import pgd
from again_tf.objectives import FAT, FATTRADES, make_objective


def _threshold_model(images):
    """Label 0 while the mean pixel is below 0.25: each +0.1 step raises the mean by 0.1."""
    s = tf.reduce_mean(images, axis=[1, 2, 3])
    return tf.stack([0.25 - s, tf.zeros_like(s)], axis=1)


def _attack(stop_after, steps=10):
    x, y = tf.zeros((1, 2, 2, 1)), tf.constant([0])
    return pgd(_threshold_model, x, y, eps=1.0, step_size=0.1, steps=steps, init="none",
               stop_after=stop_after)


def test_an_example_stops_tau_steps_after_it_is_first_misclassified():
    # Iterates 0, 0.1, 0.2, 0.3: misclassified first at 0.3, then tau more steps.
    for tau in (0, 1, 2, 4):
        np.testing.assert_allclose(_attack(tau).numpy(), 0.3 + 0.1 * tau, atol=1e-6)
    np.testing.assert_allclose(_attack(None).numpy(), 1.0, atol=1e-6)  # plain PGD: all 10 steps
    np.testing.assert_allclose(_attack(0).numpy(), _attack(None, steps=3).numpy())  # stop = fewer steps


def test_early_stopping_is_per_example_and_judged_on_the_labels():
    x = tf.constant(np.stack([np.zeros((2, 2, 1)), np.full((2, 2, 1), 0.3)]), tf.float32)
    x_adv = pgd(_threshold_model, x, tf.constant([0, 0]), eps=1.0, step_size=0.1, steps=5,
                init="none", stop_after=1)
    # The first needs 3 steps to flip then takes 1 more; the second starts misclassified.
    np.testing.assert_allclose(x_adv.numpy()[:, 0, 0, 0], [0.4, 0.4], atol=1e-6)


def test_tau_grows_at_each_milestone_in_steps():
    fat = FAT(tau_boundaries=(100, 180))
    assert [int(fat.early_stop_tau(s)) for s in (0, 99, 100, 179, 180, 10_000)] == [0, 0, 1, 1, 2, 2]
    assert int(FATTRADES(tau_boundaries=()).early_stop_tau(5)) == 0


def test_fat_losses_are_pgd_at_and_trades_on_the_stopped_examples():
    fat = make_objective("fat", fat_tau_boundaries=(10,), fat_omega=0.001)
    fat_trades = make_objective("fat_trades", fat_tau_boundaries=(1, 2, 3), fat_omega=0.0, trades_beta=6.0)
    assert fat.default_init == "uniform" and fat.step_noise == 0.001 and not fat.needs_clean_forward
    assert fat_trades.default_init == "normal" and fat_trades.needs_attack_reference
    assert fat_trades.beta == 6.0 and fat_trades.get_config()["tau_boundaries"] == (1, 2, 3)
