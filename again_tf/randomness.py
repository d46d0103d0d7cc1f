"""Random draws keyed by a per-step seed, so that training randomness is a function of
(run seed, step) and a resumed run draws exactly what the uninterrupted run would have.

``AgainModel.train_step`` enters ``step_seed(seed)``; inside it every draw of the ASE/HFF layers
and of the attacks' random start is a stateless op on ``fold_in(seed, k)``, k counting the draws
in trace order. Outside it (evaluation, direct layer use) the draws are TF's stateful ops, seeded
by ``tf.random.set_seed`` as usual. The optimizer's step counter is checkpointed, so this seed
needs no state of its own.
"""

from __future__ import annotations

import contextlib
import threading

import tensorflow as tf

_LOCAL = threading.local()  # MirroredStrategy traces each replica's step in its own thread


def _stack() -> list[dict]:
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    return _LOCAL.stack


@contextlib.contextmanager
def step_seed(seed: tf.Tensor):
    """Draws inside this block use ``seed`` (shape [2], int64) and a draw counter."""
    stack = _stack()
    stack.append({"seed": tf.cast(seed, tf.int64), "count": 0})
    try:
        yield
    finally:
        stack.pop()


@contextlib.contextmanager
def shared_draws(enabled: bool = True):
    """Yields ``again()``: after it, draws repeat those made since the block began, so two
    training-mode passes on the same images (TRADES' clean and adversarial passes, AWP's proxy
    and real passes) share their HFF mix and ASE's y'. A no-op when not ``enabled`` or outside
    ``step_seed`` (stateful draws cannot be replayed)."""
    stack = _stack()
    start = stack[-1]["count"] if stack else None

    def again() -> None:
        if enabled and start is not None:
            stack[-1]["count"] = start

    yield again


def next_seed() -> tf.Tensor | None:
    """The seed of the next draw, or None outside ``step_seed``."""
    stack = _stack()
    if not stack:
        return None
    frame = stack[-1]
    frame["count"] += 1
    return tf.random.experimental.stateless_fold_in(frame["seed"], frame["count"])


def uniform(shape, minval=0.0, maxval=1.0, dtype=tf.float32) -> tf.Tensor:
    seed = next_seed()
    if seed is None:
        return tf.random.uniform(shape, minval, maxval, dtype=dtype)
    return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)


def normal(shape, dtype=tf.float32) -> tf.Tensor:
    seed = next_seed()
    if seed is None:
        return tf.random.normal(shape, dtype=dtype)
    return tf.random.stateless_normal(shape, seed, dtype=dtype)


def gamma(shape, alpha: float) -> tf.Tensor:
    seed = next_seed()
    if seed is None:
        return tf.random.gamma(shape, alpha=alpha)
    return marsaglia_tsang_gamma(shape, seed, alpha)


def marsaglia_tsang_gamma(shape, seed: tf.Tensor, alpha: float, trials: int = 8) -> tf.Tensor:
    """Gamma(alpha, 1) by Marsaglia & Tsang (2000) with a fixed number of proposals, so that it
    compiles under XLA (TF's stateless gamma has no XLA kernel). Each proposal is accepted with
    probability > 0.95, so all ``trials`` fail with probability < 1e-10 (then the last proposal
    is used). ``alpha < 1`` uses Gamma(alpha) = Gamma(alpha + 1) * U^(1/alpha)."""
    boosted = alpha if alpha >= 1.0 else alpha + 1.0
    d = boosted - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5
    seeds = tf.random.experimental.stateless_split(seed, 3)
    full = tf.concat([[trials], tf.cast(shape, tf.int32)], axis=0)
    z = tf.random.stateless_normal(full, seeds[0])
    u = tf.random.stateless_uniform(full, seeds[1], minval=1e-12, maxval=1.0)
    v = tf.maximum((1.0 + c * z) ** 3, 1e-30)
    accepted = ((1.0 + c * z) > 0) & (tf.math.log(u) < 0.5 * z * z + d - d * v + d * tf.math.log(v))
    first = accepted & (tf.cumsum(tf.cast(accepted, tf.int32), axis=0) == 1)
    sample = tf.where(tf.reduce_any(accepted, axis=0),
                      tf.reduce_sum(tf.where(first, d * v, 0.0), axis=0), d * v[-1])
    if alpha < 1.0:
        boost = tf.random.stateless_uniform(tf.shape(sample), seeds[2], minval=1e-12, maxval=1.0)
        sample = sample * boost ** (1.0 / alpha)
    return sample


def permutation(n: tf.Tensor) -> tf.Tensor:
    """A random permutation of ``range(n)``."""
    seed = next_seed()
    if seed is None:
        return tf.random.shuffle(tf.range(n))
    return tf.argsort(tf.random.stateless_uniform([n], seed), stable=True)


def categorical(logits: tf.Tensor) -> tf.Tensor:
    """One class per row of ``logits`` [N, K], drawn with probabilities softmax(logits); int32 [N]."""
    seed = next_seed()
    if seed is None:
        return tf.random.categorical(logits, 1, dtype=tf.int32)[:, 0]
    return tf.random.stateless_categorical(logits, 1, seed, dtype=tf.int32)[:, 0]
