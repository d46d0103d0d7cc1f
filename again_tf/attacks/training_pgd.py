"""The PGD that makes a training batch's adversarial examples: one random start, and FAT's
per-example early stop and step noise (Zhang et al., ICML 2020) when a method asks for them."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.ascent import EarlyStop, ascend
from again_tf.attacks.losses import resolve_loss
from again_tf.attacks.threat import initial_point, make_threat


def training_pgd(
    model_fn: Callable,
    x: tf.Tensor,
    y,
    *,
    eps: float,
    step_size: float,
    steps: int,
    norm: str = "linf",
    init: str = "uniform",
    loss: str | Callable = "ce",
    stop_after: int | tf.Tensor | None = None,
    stop_labels: tf.Tensor | None = None,
    step_noise: float = 0.0,
    clip: tuple[float, float] = (0.0, 1.0),
) -> tf.Tensor:
    """Maximises ``loss(model_fn(x_adv), y)`` in the eps-ball from ``init``.

    ``stop_after`` (FAT's tau): an example may take that many more steps while misclassified,
    judged against ``stop_labels`` (default ``y``; pass the labels when the loss takes other
    targets, e.g. TRADES' KL), then stops. ``step_noise``: std of Gaussian noise added to each
    step before the projection (FAT's omega).
    """
    if steps < 1:
        raise ValueError(f"PGD steps must be >= 1, got {steps}.")
    stop = None if stop_after is None else EarlyStop(y if stop_labels is None else stop_labels, stop_after)
    x = tf.convert_to_tensor(x, tf.float32)
    threat = make_threat(norm, eps)
    start = initial_point(threat, x, init, clip)
    return ascend(model_fn, resolve_loss(loss), x, y, start, threat, lambda i: step_size, steps,
                  clip=clip, stop=stop, noise=step_noise)
