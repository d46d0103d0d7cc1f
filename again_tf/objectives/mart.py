"""MART (Wang et al. 2020): boosted CE on x_adv plus lambda * KL weighted by 1 - p_y(x)."""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy
from again_tf.attacks.per_example import as_labels


def mart_terms(logits_clean: tf.Tensor, logits_adv: tf.Tensor, labels: tf.Tensor,
               lam: float = 6.0) -> dict[str, tf.Tensor]:
    """Per-example terms of the reference implementation (its 1e-12 / 1.0001 constants kept).

    ``bce = CE(F(x_adv), y) - log(1.0001 - p_adv[y*])``, with ``y*`` the most likely wrong class;
    ``kl = KL(F(x) || F(x_adv)) * (1.0000001 - p_clean[y])``; ``loss = bce + lam * kl``.
    """
    labels = as_labels(labels)
    num_classes = tf.shape(logits_adv)[-1]
    adv_probs = tf.nn.softmax(logits_adv, axis=-1)
    true_mask = tf.one_hot(labels, num_classes, dtype=adv_probs.dtype)
    runner_up = tf.argmax(adv_probs - 2.0 * true_mask, axis=-1, output_type=tf.int32)
    wrong_prob = tf.gather(adv_probs, runner_up, batch_dims=1)
    bce = cross_entropy(logits_adv, labels) - tf.math.log(1.0001 - wrong_prob + 1e-12)
    nat_probs = tf.nn.softmax(logits_clean, axis=-1)
    kl = tf.reduce_sum(
        nat_probs * (tf.math.log(nat_probs + 1e-12) - tf.math.log(adv_probs + 1e-12)), axis=-1
    )
    true_prob = tf.gather(nat_probs, labels, batch_dims=1)
    weighted_kl = kl * (1.0000001 - true_prob)
    return {"bce": bce, "kl": weighted_kl, "loss": bce + lam * weighted_kl}
