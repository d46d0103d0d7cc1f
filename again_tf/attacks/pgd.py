"""Projected gradient descent (Madry et al. 2018) and FGSM, batched, in and out of tf.function."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.losses import resolve_loss
from again_tf.attacks.threat import initial_point, make_threat
from again_tf.models.outputs import main_logits


def _ascent(model_fn, loss_fn, x, target, x_start, threat, step_size, steps, sign, clip, keep_found):
    """``steps`` projected ascent steps from ``x_start`` as a ``tf.while_loop``; with
    ``keep_found`` an example the model misclassifies stops where it is."""

    def body(i, x_adv):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            outputs = model_fn(x_adv)
            loss = tf.reduce_sum(loss_fn(outputs, target))
        grad = sign * tape.gradient(loss, x_adv)
        x_next = tf.clip_by_value(threat.project(threat.step(x_adv, grad, step_size), x), clip[0], clip[1])
        if keep_found:
            labels = tf.cast(tf.reshape(target, [-1]), tf.int32)
            found = tf.argmax(main_logits(outputs), axis=-1, output_type=tf.int32) != labels
            x_next = tf.where(tf.reshape(found, [-1] + [1] * (x.shape.rank - 1)), x_adv, x_next)
        return i + 1, tf.stop_gradient(x_next)

    _, x_adv = tf.while_loop(lambda i, _: i < steps, body, (tf.constant(0), x_start))
    return x_adv


def pgd(
    model_fn: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    *,
    eps: float,
    step_size: float,
    steps: int,
    norm: str = "linf",
    loss: str | Callable = "ce",
    init: str = "uniform",
    restarts: int = 1,
    targeted: bool = False,
    clip: tuple[float, float] = (0.0, 1.0),
    keep_found: bool = False,
) -> tf.Tensor:
    """Maximises ``loss(model_fn(x_adv), y)`` (minimises it if ``targeted``) in the eps-ball.

    ``model_fn`` maps images to logits or to ``ModelOutputs``; pass a function that runs the model
    in inference mode (BN moving statistics, predicted-label ASE masks) unless you mean otherwise.
    ``y`` is whatever the loss takes: labels for ``ce``/``cw``, reference probabilities for
    ``kl``. With ``restarts > 1`` each example keeps the restart with the highest final loss.

    ``keep_found`` (evaluation, untargeted, ``y`` labels): an example stays at the first iterate
    the model misclassifies, so that more steps never lose an adversarial example already found
    (plain PGD returns the last iterate, which may have oscillated back).
    """
    if steps < 1:
        raise ValueError(f"PGD steps must be >= 1, got {steps}.")
    if restarts < 1:
        raise ValueError(f"PGD restarts must be >= 1, got {restarts}.")
    if keep_found and targeted:
        raise ValueError("keep_found stops at a misclassified point: use it with untargeted attacks.")
    x = tf.convert_to_tensor(x, tf.float32)
    threat = make_threat(norm, eps)
    loss_fn = resolve_loss(loss)
    sign = -1.0 if targeted else 1.0
    best, best_loss = None, None
    for _ in range(restarts):
        start = initial_point(threat, x, init, clip)
        x_adv = _ascent(model_fn, loss_fn, x, y, start, threat, step_size, steps, sign, clip, keep_found)
        if restarts == 1:
            return x_adv
        final = sign * loss_fn(model_fn(x_adv), y)
        if best is None:
            best, best_loss = x_adv, final
            continue
        better = tf.reshape(final > best_loss, [-1] + [1] * (x.shape.rank - 1))
        best = tf.where(better, x_adv, best)
        best_loss = tf.maximum(final, best_loss)
    return best


def fgsm(model_fn: Callable, x, y, *, eps: float, norm: str = "linf", loss="ce", clip=(0.0, 1.0)):
    """One step of size eps from the clean point (Goodfellow et al. 2015)."""
    return pgd(model_fn, x, y, eps=eps, step_size=eps, steps=1, norm=norm, loss=loss,
               init="none", clip=clip)
