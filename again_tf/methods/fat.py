"""FAT (Zhang et al., ICML 2020, "Attacks which do not kill training make adversarial learning
stronger"): train on *friendly* adversarial examples, early-stopped PGD-K-tau.

The training attack stops each example ``tau`` steps after it is first misclassified
(``training_pgd(stop_after=tau)``); tau grows at epoch milestones (the original: 0 up to epoch 50,
1 up to 90, then 2 for FAT; 0/1/2/3 at 30/50/70 for FAT-TRADES), and each step adds Gaussian
noise of std omega (0.001 for FAT, 0 for FAT-TRADES). The losses are PGD-AT's and TRADES' on the
early-stopped examples.
"""

from __future__ import annotations

import tensorflow as tf

from again_tf.methods.pgd_at import PGDAT
from again_tf.methods.trades import TRADES


class EarlyStopped:
    """The tau schedule: tau = the number of ``tau_boundaries`` (optimizer steps) already passed."""

    options = {"omega": "fat_omega"}

    def __init__(self, *args, tau_boundaries: tuple[int, ...], omega: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.tau_boundaries = tuple(int(b) for b in tau_boundaries)
        self.omega = float(omega)

    @classmethod
    def from_config(cls, config, steps_per_epoch, **kwargs):
        boundaries = tuple(m * steps_per_epoch for m in config.objective.fat_tau_milestones)
        return super().from_config(config, steps_per_epoch, tau_boundaries=boundaries, **kwargs)

    def early_stop_tau(self, step) -> tf.Tensor:
        step = tf.cast(step, tf.int64)
        passed = [tf.cast(step >= b, tf.int32) for b in self.tau_boundaries]
        return tf.add_n(passed) if passed else tf.constant(0, tf.int32)

    def attack_options(self, model, y):
        return {"stop_after": self.early_stop_tau(model.optimizer.iterations), "stop_labels": y,
                "step_noise": self.omega}

    def get_config(self):
        return {**super().get_config(), "tau_boundaries": self.tau_boundaries}


class FAT(EarlyStopped, PGDAT):
    name = "fat"


class FATTRADES(EarlyStopped, TRADES):
    """FAT-TRADES' own omega is 0 (its preset sets objective.fat_omega 0)."""

    name = "fat_trades"
