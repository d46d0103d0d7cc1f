"""FAT (Zhang et al., ICML 2020, "Attacks which do not kill training make adversarial learning
stronger"): train on *friendly* adversarial examples, early-stopped PGD-K-tau.

The training attack stops each example ``tau`` steps after it is first misclassified
(``attacks.pgd(stop_after=tau)``); tau grows at epoch milestones (the original: 0 up to epoch 50,
1 up to 90, then 2 for FAT; 0/1/2/3 at 30/50/70 for FAT-TRADES), and each step adds Gaussian
noise of std omega (0.001 for FAT, 0 for FAT-TRADES). The losses are PGD-AT's and TRADES' on the
early-stopped examples.
"""

from __future__ import annotations

import tensorflow as tf

from again_tf.objectives.pgd_at import PGDAT
from again_tf.objectives.trades import TRADES


class EarlyStopped:
    """The tau schedule: tau = the number of ``boundaries`` (optimizer steps) already passed."""

    def __init__(self, tau_boundaries=(), omega: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.tau_boundaries = tuple(int(b) for b in tau_boundaries)
        self.step_noise = float(omega)

    def early_stop_tau(self, step):
        step = tf.cast(step, tf.int64)
        passed = [tf.cast(step >= b, tf.int32) for b in self.tau_boundaries]
        return tf.add_n(passed) if passed else tf.constant(0, tf.int32)

    def get_config(self):
        return {**super().get_config(), "tau_boundaries": self.tau_boundaries, "omega": self.step_noise}


class FAT(EarlyStopped, PGDAT):
    name = "fat"


class FATTRADES(EarlyStopped, TRADES):
    name = "fat_trades"
