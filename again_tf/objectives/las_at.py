"""LAS-AT (Jia et al., CVPR 2022, "LAS-AT: adversarial training with learnable attack strategy").

A strategy network picks, per example, the attack's eps, step size and number of iterations
from discrete sets; the target model trains on those examples with label-smoothed CE (true
class 0.7, as the release); every ``interval`` steps the strategy network takes a REINFORCE
step on the batch reward ``w1 * min(CE(x_adv), 10) + w2 * PGD-10 accuracy + w3 * clean
accuracy`` of the target after one SGD step on x_adv (the release's 1, 4, 2): it learns attacks
that are hard now and still leave a model that generalises. ``engine/las.py`` runs it.

Sets are relative to ``attack.eps`` so a recipe transfers across data sets: the release's
CIFAR-10 command (eps 3..15/255, step 1..5/255 around 8/255) is eps x {3/8 .. 15/8} and step
x {1/8 .. 5/8}, with 3..14 iterations.
"""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy
from again_tf.objectives.base import Objective


def smoothed_cross_entropy(logits, labels, confidence: float = 0.7):
    """Per-example CE against ``confidence`` on the true class and the rest spread evenly."""
    num_classes = tf.shape(logits)[-1]
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    spread = (1.0 - confidence) / tf.cast(num_classes - 1, logits.dtype)
    target = tf.one_hot(labels, num_classes, on_value=confidence, off_value=spread, dtype=logits.dtype)
    return -tf.reduce_sum(target * tf.nn.log_softmax(logits, axis=-1), axis=-1)


class LASAT(Objective):
    name = "las_at"
    needs_strategy = True

    def __init__(self, eps_scales=tuple(k / 8 for k in range(3, 16)),
                 step_scales=tuple(k / 8 for k in range(1, 6)), iterations=tuple(range(3, 15)),
                 interval: int = 20, reward_weights=(1.0, 4.0, 2.0), confidence: float = 0.7,
                 strategy_lr: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.eps_scales = tuple(float(e) for e in eps_scales)
        self.step_scales = tuple(float(s) for s in step_scales)
        self.iterations = tuple(int(i) for i in iterations)
        self.interval, self.reward_weights = int(interval), tuple(float(w) for w in reward_weights)
        self.confidence, self.strategy_lr = float(confidence), float(strategy_lr)

    @property
    def head_sizes(self) -> tuple[int, int, int]:
        return len(self.eps_scales), len(self.step_scales), len(self.iterations)

    def base_terms(self, logits_adv, logits_clean, labels, guide_logits=None):
        return {"loss": smoothed_cross_entropy(logits_adv, labels, self.confidence)}

    def attack_base(self, logits_adv, labels, reference_logits):
        return cross_entropy(logits_adv, labels)

    def get_config(self):
        return {**super().get_config(), "eps_scales": self.eps_scales, "step_scales": self.step_scales,
                "iterations": self.iterations, "interval": self.interval,
                "reward_weights": self.reward_weights, "confidence": self.confidence,
                "strategy_lr": self.strategy_lr}
