"""Worst case over several attacks: each one runs only on the examples the earlier ones left.

Pure TF ops, so the same code serves the eager CLI and the traced ``test_step``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

Attack = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (x, y) -> x_adv


def correct_predictions(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """1.0 where argmax(logits) == label, else 0.0."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int64)
    return tf.cast(tf.equal(tf.argmax(logits, axis=-1), labels), tf.float32)


def cascade(logits_fn: Callable, x: tf.Tensor, y: tf.Tensor,
            attacks: Sequence[Attack]) -> list[tf.Tensor]:
    """Per-example correctness after each attack in turn (the last one is the worst case);
    ``logits_fn`` is the deployed model's decision."""
    results = []
    correct = None
    for attack in attacks:
        if correct is None:
            correct = correct_predictions(logits_fn(attack(x, y)), y)
        else:
            index = tf.where(correct > 0)[:, 0]
            xs, ys = tf.gather(x, index), tf.gather(y, index)
            attacked = lambda xs=xs, ys=ys, attack=attack: correct_predictions(logits_fn(attack(xs, ys)), ys)
            # No survivors: no call (Keras layers refuse an empty batch in eager mode).
            still = tf.cond(tf.size(index) > 0, attacked, lambda: tf.zeros([0], tf.float32))
            correct = tf.tensor_scatter_nd_update(correct, index[:, None], still)
        results.append(correct)
    return results
