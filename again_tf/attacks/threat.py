"""Threat models: the eps-ball's random start, ascent step and projection, apart from the loop."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from again_tf import randomness
from again_tf.config.schema import ATTACK_INITS, NORMS, default_step_size

__all__ = ["NORMS", "L2Ball", "LinfBall", "default_step_size", "initial_point", "make_threat"]


def _per_example_norm(t: tf.Tensor) -> tf.Tensor:
    """L2 norm of each example, shaped to broadcast against ``t``."""
    axes = list(range(1, t.shape.rank))
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=axes, keepdims=True))


@dataclass(frozen=True)
class LinfBall:
    eps: float

    def random_start(self, x: tf.Tensor) -> tf.Tensor:
        return x + randomness.uniform(tf.shape(x), -self.eps, self.eps, dtype=x.dtype)

    def step(self, x_adv: tf.Tensor, grad: tf.Tensor, step_size: float) -> tf.Tensor:
        return x_adv + step_size * tf.sign(grad)

    def project(self, x_adv: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(x_adv, x - self.eps, x + self.eps)


@dataclass(frozen=True)
class L2Ball:
    eps: float

    def random_start(self, x: tf.Tensor) -> tf.Tensor:
        """A point on the sphere of radius eps, as MadryLab's robustness library does."""
        noise = randomness.normal(tf.shape(x), dtype=x.dtype)
        return x + self.eps * noise / (_per_example_norm(noise) + 1e-10)

    def step(self, x_adv: tf.Tensor, grad: tf.Tensor, step_size: float) -> tf.Tensor:
        return x_adv + step_size * grad / (_per_example_norm(grad) + 1e-12)

    def project(self, x_adv: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        delta = x_adv - x
        norm = _per_example_norm(delta)
        return x + delta * tf.minimum(1.0, self.eps / (norm + 1e-12))


def make_threat(norm: str, eps: float) -> LinfBall | L2Ball:
    if norm not in NORMS:
        raise ValueError(f"Unknown attack norm {norm!r}; allowed: {list(NORMS)}.")
    if eps < 0:
        raise ValueError(f"Attack eps must be >= 0, got {eps}.")
    return LinfBall(float(eps)) if norm == "linf" else L2Ball(float(eps))


def initial_point(threat, x: tf.Tensor, init: str, clip=(0.0, 1.0)) -> tf.Tensor:
    """``uniform``: random point of the ball; ``normal``: x + 0.001 N(0, 1) (TRADES); ``none``: x."""
    if init not in ATTACK_INITS:
        raise ValueError(f"Unknown attack init {init!r}; allowed: {list(ATTACK_INITS)}.")
    if init == "none":
        return x
    if init == "uniform":
        start = threat.random_start(x)
    else:
        start = x + 0.001 * randomness.normal(tf.shape(x), dtype=x.dtype)
    return tf.clip_by_value(threat.project(start, x), clip[0], clip[1])
