"""Projected gradient descent (Madry et al. 2018) and FGSM, batched, in and out of tf.function."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf import randomness
from again_tf.attacks.losses import resolve_loss
from again_tf.attacks.threat import initial_point, make_threat
from again_tf.models.outputs import main_logits


def _ascent(model_fn, loss_fn, x, target, x_start, threat, step_size, steps, sign, clip, stop, noise):
    """``steps`` projected ascent steps from ``x_start`` as a ``tf.while_loop``.

    ``stop`` is None or ``(labels, tau)``: an example the model misclassifies may take ``tau``
    more steps while misclassified (FAT's budget, counted per example), then stays where it is.
    """
    shape = [-1] + [1] * (x.shape.rank - 1)

    def body(i, x_adv, budget=None, frozen=None):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            outputs = model_fn(x_adv)
            loss = tf.reduce_sum(loss_fn(outputs, target))
        grad = sign * tape.gradient(loss, x_adv)
        moved = threat.step(x_adv, grad, step_size)
        if noise:
            moved += noise * randomness.normal(tf.shape(x_adv))
        x_next = tf.clip_by_value(threat.project(moved, x), clip[0], clip[1])
        if stop is None:
            return i + 1, tf.stop_gradient(x_next)
        labels = tf.cast(tf.reshape(stop[0], [-1]), tf.int32)
        wrong = tf.argmax(main_logits(outputs), axis=-1, output_type=tf.int32) != labels
        frozen = frozen | (wrong & (budget <= 0))
        budget = budget - tf.cast(wrong & ~frozen, tf.int32)
        x_next = tf.where(tf.reshape(frozen, shape), x_adv, x_next)
        return i + 1, tf.stop_gradient(x_next), budget, frozen

    state = (tf.constant(0), x_start)
    if stop is not None:
        count = tf.shape(x)[:1]
        state += (tf.fill(count, tf.cast(stop[1], tf.int32)), tf.zeros(count, tf.bool))
    return tf.while_loop(lambda i, *_: i < steps, body, state)[1]


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
    stop_after: int | tf.Tensor | None = None,
    stop_labels: tf.Tensor | None = None,
    step_noise: float = 0.0,
) -> tf.Tensor:
    """Maximises ``loss(model_fn(x_adv), y)`` (minimises it if ``targeted``) in the eps-ball.

    ``model_fn`` maps images to logits or to ``ModelOutputs``; pass a function that runs the model
    in inference mode (BN moving statistics, predicted-label ASE masks) unless you mean otherwise.
    ``y`` is whatever the loss takes: labels for ``ce``/``cw``, reference probabilities for
    ``kl``. With ``restarts > 1`` each example keeps the restart with the highest final loss
    (with ``keep_found``/``stop_after``: a restart that fools the model first).

    ``keep_found`` (evaluation, untargeted, ``y`` labels): an example stays at the first iterate
    the model misclassifies, so that more steps never lose an adversarial example already found
    (plain PGD returns the last iterate, which may have oscillated back).

    ``stop_after`` (FAT's tau, Zhang et al. 2020): an example may take that many more steps
    while misclassified, then stops; ``keep_found`` is ``stop_after=0``. Misclassification is
    judged against ``stop_labels`` (default ``y``; pass the labels when the loss takes other
    targets, e.g. TRADES' KL). ``step_noise``: std of Gaussian noise added to each step before
    the projection (FAT's omega).
    """
    _check_arguments(steps, restarts, targeted, keep_found or stop_after is not None)
    if keep_found and stop_after is None:
        stop_after = 0
    stop = None if stop_after is None else (y if stop_labels is None else stop_labels, stop_after)
    x = tf.convert_to_tensor(x, tf.float32)
    threat = make_threat(norm, eps)
    loss_fn = resolve_loss(loss)
    sign = -1.0 if targeted else 1.0
    best, best_rank = None, None
    for _ in range(restarts):
        start = initial_point(threat, x, init, clip)
        x_adv = _ascent(model_fn, loss_fn, x, y, start, threat, step_size, steps, sign, clip, stop,
                        step_noise)
        if restarts == 1:
            return x_adv
        rank = _restart_rank(model_fn(x_adv), loss_fn, y, sign, stop)
        best, best_rank = (x_adv, rank) if best is None else _keep_better(best, best_rank, x_adv, rank)
    return best


def _check_arguments(steps: int, restarts: int, targeted: bool, stops: bool) -> None:
    if steps < 1:
        raise ValueError(f"PGD steps must be >= 1, got {steps}.")
    if restarts < 1:
        raise ValueError(f"PGD restarts must be >= 1, got {restarts}.")
    if stops and targeted:
        raise ValueError("keep_found and stop_after stop at a misclassified point: use them with "
                         "untargeted attacks.")


def _keep_better(best, best_rank, x_adv, rank):
    """Per example, the restart that fools the model, else the one with the higher loss."""
    (fooled, loss), (best_fooled, best_loss) = rank, best_rank
    better = (fooled & ~best_fooled) | ((fooled == best_fooled) & (loss > best_loss))
    best = tf.where(tf.reshape(better, [-1] + [1] * (x_adv.shape.rank - 1)), x_adv, best)
    return best, (fooled | best_fooled, tf.where(better, loss, best_loss))


def _restart_rank(outputs, loss_fn, y, sign, stop):
    """``(fooled, final loss)`` per example, compared in that order: with ``stop`` (evaluation) a
    restart that found an adversarial example is never replaced by a correctly classified one of
    higher loss; without it every restart counts as not fooled and the loss decides."""
    loss = sign * loss_fn(outputs, y)
    if stop is None:
        return tf.zeros_like(loss, tf.bool), loss
    labels = tf.cast(tf.reshape(stop[0], [-1]), tf.int32)
    return tf.argmax(main_logits(outputs), axis=-1, output_type=tf.int32) != labels, loss


def fgsm(model_fn: Callable, x, y, *, eps: float, norm: str = "linf", loss="ce", clip=(0.0, 1.0)):
    """One step of size eps from the clean point (Goodfellow et al. 2015)."""
    return pgd(model_fn, x, y, eps=eps, step_size=eps, steps=1, norm=norm, loss=loss,
               init="none", clip=clip)
