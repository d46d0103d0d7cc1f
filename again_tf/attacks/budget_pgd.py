"""PGD in which every example has its own eps, step size and number of steps: the attacks that
LAS-AT's strategy network picks per example (Jia et al., CVPR 2022)."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.ascent import ascend
from again_tf.attacks.losses import resolve_loss
from again_tf.attacks.threat import L2Ball, LinfBall, make_threat


def budget_pgd(
    model_fn: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    *,
    eps: tf.Tensor,
    step_size: tf.Tensor,
    steps: tf.Tensor,
    start_eps: float,
    norm: str = "linf",
    loss: str | Callable = "ce",
    clip: tuple[float, float] = (0.0, 1.0),
) -> tf.Tensor:
    """Maximises ``loss`` with per-example ``eps``, ``step_size`` (float [N]) and ``steps`` (int [N]).

    As in LAS-AT's release, every example starts from a uniform point of the common ``start_eps``
    ball; each iteration projects onto the example's own ball, and an example whose steps are
    used up is only projected (it does not move). The loop runs ``max(steps)`` iterations.
    """
    x = tf.convert_to_tensor(x, tf.float32)
    shape = [-1] + [1] * (x.shape.rank - 1)
    threat = (LinfBall if norm == "linf" else L2Ball)(tf.reshape(tf.cast(eps, tf.float32), shape))
    step = tf.reshape(tf.cast(step_size, tf.float32), shape)
    steps = tf.cast(steps, tf.int32)
    start = tf.clip_by_value(make_threat(norm, start_eps).random_start(x), clip[0], clip[1])
    active_step = lambda i: step * tf.reshape(tf.cast(i < steps, tf.float32), shape)
    return ascend(model_fn, resolve_loss(loss), x, y, start, threat, active_step, tf.reduce_max(steps),
                  clip=clip)
