"""Per-example views of a batch the attacks share: labels as an int32 vector, the deployed
decision, flattening, broadcasting and L-inf norms."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.models.outputs import main_logits


def as_labels(y) -> tf.Tensor:
    return tf.cast(tf.reshape(y, [-1]), tf.int32)


def predict(model_fn: Callable, x: tf.Tensor) -> tf.Tensor:
    """The deployed decision: argmax of the main logits, as int32."""
    return tf.argmax(main_logits(model_fn(x)), axis=-1, output_type=tf.int32)


def flat(t: tf.Tensor) -> tf.Tensor:
    """``[N, D]``, keeping D static when the example shape is (the batch size may be free)."""
    features = t.shape[1:].num_elements()
    if features is None:
        return tf.reshape(t, [tf.shape(t)[0], -1])
    return tf.reshape(t, [-1, features])


def per_example(values: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshapes ``[N]`` values to broadcast against ``like`` (``[N, 1, 1, 1]`` for images)."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


def linf_norm(t: tf.Tensor) -> tf.Tensor:
    return tf.reduce_max(tf.abs(flat(t)), axis=1)
