"""FAT as a method: the tau schedule in optimizer steps and what it hands the training attack."""

import tensorflow as tf

from again_tf.config import apply_overrides, get_preset, with_method
from again_tf.methods import build_method
from again_tf.methods.fat import FAT, FATTRADES
from tests.methods.helpers import make


def test_tau_grows_at_each_milestone_in_steps():
    fat = make(FAT, tau_boundaries=(100, 180), omega=0.001)
    assert [int(fat.early_stop_tau(s)) for s in (0, 99, 100, 179, 180, 10_000)] == [0, 0, 1, 1, 2, 2]
    assert int(make(FATTRADES, tau_boundaries=(), omega=0.0, beta=6.0).early_stop_tau(5)) == 0


def test_fat_methods_from_config_are_pgd_at_and_trades_with_the_early_stop():
    base = apply_overrides(get_preset("quickstart"), {"objective.fat_tau_milestones": "2,3",
                                                       "objective.fat_omega": "0.002"})
    fat = build_method(with_method(base, "fat"), steps_per_epoch=10)
    fat_trades = build_method(with_method(base, "fat_trades"), steps_per_epoch=10)
    assert isinstance(fat, FAT) and fat.tau_boundaries == (20, 30) and fat.omega == 0.002
    assert fat.attack.init == "uniform" and fat_trades.attack.init == "normal"
    assert fat_trades.beta == 6.0 and fat_trades.term_names == ("ce_clean", "kl")

    class Optimizer:
        iterations = tf.constant(25, tf.int64)

    class Model:
        optimizer = Optimizer()

    options = fat.attack_options(Model(), tf.constant([1]))
    assert int(options["stop_after"]) == 1 and options["step_noise"] == 0.002
