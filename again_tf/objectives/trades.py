"""TRADES (Zhang et al. 2019): CE on clean inputs plus beta * KL(F(x) || F(x_adv))."""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy, kl_divergence
from again_tf.objectives.base import Objective


def trades_terms(logits_clean, logits_adv, labels, beta: float = 6.0) -> dict[str, tf.Tensor]:
    """Per-example ``ce_clean``, ``kl`` and ``loss = ce_clean + beta * kl``."""
    ce = cross_entropy(logits_clean, labels)
    kl = kl_divergence(logits_adv, tf.nn.softmax(logits_clean, axis=-1))
    return {"ce_clean": ce, "kl": kl, "loss": ce + beta * kl}


def kl_attack_loss(logits_adv, reference_logits):
    """TRADES' attack loss: KL(F(x) || F(x_adv)), F(x) held fixed."""
    return kl_divergence(logits_adv, tf.nn.softmax(tf.stop_gradient(reference_logits), axis=-1))


class TRADES(Objective):
    name = "trades"
    term_names = ("ce_clean", "kl")
    default_init = "normal"
    needs_clean_forward = True
    needs_attack_reference = True

    def __init__(self, beta: float = 6.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = float(beta)

    def base_terms(self, logits_adv, logits_clean, labels, guide_logits=None):
        return trades_terms(logits_clean, logits_adv, labels, self.beta)

    def attack_base(self, logits_adv, labels, reference_logits):
        return kl_attack_loss(logits_adv, reference_logits)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
