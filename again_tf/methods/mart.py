"""MART (Wang et al. 2020): boosted CE on x_adv plus lambda * KL weighted by 1 - p_y(x)."""

from __future__ import annotations

from again_tf.attacks.losses import cross_entropy
from again_tf.methods.base import Method
from again_tf.methods.trades import CleanPass
from again_tf.objectives.mart import mart_terms


class MART(CleanPass, Method):
    name = "mart"
    term_names = ("bce", "kl")
    options = {"lam": "mart_lambda"}

    def __init__(self, *args, lam: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.lam = float(lam)

    def head_terms(self, logits_adv, logits_clean, labels, **extra):
        return mart_terms(logits_clean, logits_adv, labels, self.lam)

    def attack_head_loss(self, logits_adv, labels, reference_logits):
        return cross_entropy(logits_adv, labels)
