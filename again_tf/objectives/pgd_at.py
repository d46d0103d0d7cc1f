"""PGD-AT (Madry et al. 2018): cross-entropy on PGD examples."""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy


def pgd_at_loss(logits_adv: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Per-example CE(F(x_adv), y)."""
    return cross_entropy(logits_adv, labels)
