"""The projected-ascent loop every PGD variant shares: step and project with the threat model,
clip to the image range, optionally stop an example once it fools the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

from again_tf import randomness
from again_tf.attacks.per_example import as_labels
from again_tf.models.outputs import main_logits


class EarlyStop(NamedTuple):
    """An example the model misclassifies (against ``labels``) may take ``tau`` more steps while
    misclassified, then stays where it is: FAT's budget (Zhang et al. 2020); ``tau = 0`` keeps the
    first iterate that fools the model (evaluation)."""

    labels: tf.Tensor
    tau: int | tf.Tensor


def ascend(model_fn: Callable, loss_fn: Callable, x: tf.Tensor, target, x_start: tf.Tensor, threat,
           step_size: Callable[[tf.Tensor], tf.Tensor], steps: int | tf.Tensor, sign: float = 1.0,
           clip: tuple[float, float] = (0.0, 1.0), stop: EarlyStop | None = None,
           noise: float = 0.0) -> tf.Tensor:
    """``steps`` projected ascent steps on ``sign * loss_fn(model_fn(x_adv), target)`` from
    ``x_start``, as a ``tf.while_loop``. ``step_size(i)`` gives iteration i's step (a scalar or
    one per example); ``noise`` is the std of Gaussian noise added to each step (FAT's omega)."""
    shape = [-1] + [1] * (x.shape.rank - 1)

    def body(i, x_adv, budget=None, frozen=None):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            outputs = model_fn(x_adv)
            loss = tf.reduce_sum(loss_fn(outputs, target))
        moved = threat.step(x_adv, sign * tape.gradient(loss, x_adv), step_size(i))
        if noise:
            moved += noise * randomness.normal(tf.shape(x_adv))
        x_next = tf.clip_by_value(threat.project(moved, x), clip[0], clip[1])
        if stop is None:
            return i + 1, tf.stop_gradient(x_next)
        wrong = fooled(outputs, stop.labels)
        frozen = frozen | (wrong & (budget <= 0))
        budget = budget - tf.cast(wrong & ~frozen, tf.int32)
        x_next = tf.where(tf.reshape(frozen, shape), x_adv, x_next)
        return i + 1, tf.stop_gradient(x_next), budget, frozen

    state = (tf.constant(0), x_start)
    if stop is not None:
        count = tf.shape(x)[:1]
        state += (tf.fill(count, tf.cast(stop.tau, tf.int32)), tf.zeros(count, tf.bool))
    return tf.while_loop(lambda i, *_: i < steps, body, state)[1]


def fooled(outputs, labels) -> tf.Tensor:
    """Per example, whether the deployed decision (argmax of the main logits) is not ``labels``."""
    return tf.argmax(main_logits(outputs), axis=-1, output_type=tf.int32) != as_labels(labels)
