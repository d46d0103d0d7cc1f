"""TRADES (Zhang et al. 2019): CE on clean inputs plus beta * KL(F(x) || F(x_adv))."""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy, kl_from_logits


def trades_terms(logits_clean: tf.Tensor, logits_adv: tf.Tensor, labels: tf.Tensor,
                 beta: float = 6.0) -> dict[str, tf.Tensor]:
    """Per-example ``ce_clean``, ``kl`` and ``loss = ce_clean + beta * kl``."""
    ce = cross_entropy(logits_clean, labels)
    kl = kl_from_logits(logits_adv, logits_clean)
    return {"ce_clean": ce, "kl": kl, "loss": ce + beta * kl}


def kl_attack_loss(logits_adv: tf.Tensor, reference_logits: tf.Tensor) -> tf.Tensor:
    """TRADES' attack loss: KL(F(x) || F(x_adv)), F(x) held fixed."""
    return kl_from_logits(logits_adv, tf.stop_gradient(reference_logits))
