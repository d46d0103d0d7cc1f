"""LAS-AT's target loss (Jia et al., CVPR 2022): label-smoothed cross-entropy, true class 0.7 as
the release; ``again_tf.methods.las_at`` has the method."""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.per_example import as_labels


def smoothed_cross_entropy(logits: tf.Tensor, labels: tf.Tensor, confidence: float = 0.7) -> tf.Tensor:
    """Per-example CE against ``confidence`` on the true class and the rest spread evenly."""
    num_classes = tf.shape(logits)[-1]
    labels = as_labels(labels)
    spread = (1.0 - confidence) / tf.cast(num_classes - 1, logits.dtype)
    target = tf.one_hot(labels, num_classes, on_value=confidence, off_value=spread, dtype=logits.dtype)
    return -tf.reduce_sum(target * tf.nn.log_softmax(logits, axis=-1), axis=-1)
