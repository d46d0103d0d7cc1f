"""TRADES (Zhang et al. 2019): CE on clean inputs plus beta * KL(F(x) || F(x_adv))."""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy, kl_divergence


def trades_terms(logits_clean, logits_adv, labels, beta: float = 6.0) -> dict[str, tf.Tensor]:
    """Per-example ``ce_clean``, ``kl`` and ``loss = ce_clean + beta * kl``."""
    ce = cross_entropy(logits_clean, labels)
    kl = kl_divergence(logits_adv, tf.nn.softmax(logits_clean, axis=-1))
    return {"ce_clean": ce, "kl": kl, "loss": ce + beta * kl}


def kl_attack_loss(logits_adv, reference_logits):
    """TRADES' attack loss: KL(F(x) || F(x_adv)), F(x) held fixed."""
    return kl_divergence(logits_adv, tf.nn.softmax(tf.stop_gradient(reference_logits), axis=-1))
