"""Projected gradient descent (Madry et al. 2018) and FGSM as evaluation attacks: restarts, targeted
attacks, and "keep the first adversarial example found"; batched, in and out of tf.function.
The training attack (FAT's early stop, step noise) is ``attacks.training_pgd``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.ascent import EarlyStop, ascend, fooled
from again_tf.attacks.losses import cross_entropy, resolve_loss, through_aux_heads
from again_tf.attacks.threat import default_step_size, initial_point, make_threat


@dataclasses.dataclass(frozen=True)
class PGDSettings:
    """One PGD's threat model and budget (pixel scale), kept apart from the loop so that the
    training step and the test step describe an attack the same way."""

    eps: float
    step_size: float
    steps: int
    norm: str = "linf"
    init: str = "uniform"

    def kwargs(self) -> dict:
        """The fields as keyword arguments of ``pgd``, ``pgd_through_heads`` and ``training_pgd``
        (a subclass's own fields are left out)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(PGDSettings)}


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
    ``kl``. With ``restarts > 1`` each example keeps the restart with the highest final loss
    (with ``keep_found``: a restart that fools the model first).

    ``keep_found`` (untargeted, ``y`` labels): an example stays at the first iterate the model
    misclassifies, so that more steps never lose an adversarial example already found (plain PGD
    returns the last iterate, which may have oscillated back).
    """
    _check_arguments(steps, restarts, targeted, keep_found)
    stop = EarlyStop(y, 0) if keep_found else None
    x = tf.convert_to_tensor(x, tf.float32)
    threat = make_threat(norm, eps)
    loss_fn = resolve_loss(loss)
    sign = -1.0 if targeted else 1.0
    best, best_rank = None, None
    for _ in range(restarts):
        start = initial_point(threat, x, init, clip)
        x_adv = ascend(model_fn, loss_fn, x, y, start, threat, lambda i: step_size, steps, sign, clip, stop)
        if restarts == 1:
            return x_adv
        rank = _restart_rank(model_fn(x_adv), loss_fn, y, sign, stop)
        best, best_rank = (x_adv, rank) if best is None else _keep_better(best, best_rank, x_adv, rank)
    return best


def pgd_through_heads(model_fn: Callable, x: tf.Tensor, y: tf.Tensor, *, eps: float, steps: int,
                      beta_aux: float, step_size: float | None = None, norm: str = "linf",
                      loss: Callable = cross_entropy, restarts: int = 1, init: str = "uniform") -> tf.Tensor:
    """PGD-k through the ASE heads (``through_aux_heads``), keeping the first adversarial example
    found: the adaptive attack on an AGAIN model that validation, evaluation, analysis and the
    TensorBoard images share. ``step_size`` defaults to eps / 4; random start unless ``init``."""
    step = default_step_size(eps, step_size)
    return pgd(model_fn, x, y, eps=eps, step_size=step, steps=steps, norm=norm,
               loss=through_aux_heads(loss, beta_aux), init=init, restarts=restarts, keep_found=True)


def _check_arguments(steps: int, restarts: int, targeted: bool, keep_found: bool) -> None:
    if steps < 1:
        raise ValueError(f"PGD steps must be >= 1, got {steps}.")
    if restarts < 1:
        raise ValueError(f"PGD restarts must be >= 1, got {restarts}.")
    if keep_found and targeted:
        raise ValueError("keep_found stops at a misclassified point: use it with untargeted attacks.")


def _keep_better(best, best_rank, x_adv, rank):
    """Per example, the restart that fools the model, else the one with the higher loss."""
    (fooled, loss), (best_fooled, best_loss) = rank, best_rank
    better = (fooled & ~best_fooled) | ((fooled == best_fooled) & (loss > best_loss))
    best = tf.where(tf.reshape(better, [-1] + [1] * (x_adv.shape.rank - 1)), x_adv, best)
    return best, (fooled | best_fooled, tf.where(better, loss, best_loss))


def _restart_rank(outputs, loss_fn, y, sign, stop):
    """``(fooled, final loss)`` per example, compared in that order: with ``stop`` (keep_found) a
    restart that found an adversarial example is never replaced by a correctly classified one of
    higher loss; without it every restart counts as not fooled and the loss decides."""
    loss = sign * loss_fn(outputs, y)
    if stop is None:
        return tf.zeros_like(loss, tf.bool), loss
    return fooled(outputs, stop.labels), loss


def fgsm(model_fn: Callable, x, y, *, eps: float, norm: str = "linf", loss="ce", clip=(0.0, 1.0)):
    """One step of size eps from the clean point (Goodfellow et al. 2015)."""
    return pgd(model_fn, x, y, eps=eps, step_size=eps, steps=1, norm=norm, loss=loss,
               init="none", clip=clip)
