"""The runtime set-up every training process shares (``train`` and the tuner's trials): seeds,
op determinism, the distribution strategy, and the scope its model is built in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf

from again_tf.config import RunConfig
from again_tf.data import DataBundle
from again_tf.engine.distribution import make_strategy
from again_tf.engine.precision import dtype_policy, policy_name
from again_tf.errors import ConfigError


def check_replicas(config: RunConfig, replicas: int) -> None:
    """The global batch is split evenly over the replicas, or not at all."""
    if config.data.batch_size % replicas:
        raise ConfigError(
            f"data.batch_size: {config.data.batch_size} is not divisible by the {replicas} "
            f"replicas; use a multiple of {replicas} "
            f"(e.g. {replicas * (config.data.batch_size // replicas + 1)})."
        )


def start_session(config: RunConfig) -> tf.distribute.Strategy:
    """Seeds everything, turns op determinism on when asked, and returns the run's strategy
    (checked against the batch size)."""
    keras.utils.set_random_seed(config.seed)
    if config.runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config.runtime.strategy)
    check_replicas(config, strategy.num_replicas_in_sync)
    return strategy


def steps_per_epoch(config: RunConfig, data: DataBundle) -> int:
    """``optim.steps_per_epoch``, else one pass over the training split."""
    return config.optim.steps_per_epoch or data.train_size // config.data.batch_size


@contextlib.contextmanager
def model_scope(config: RunConfig, strategy: tf.distribute.Strategy | None = None) -> Iterator[None]:
    """Where a run's model is built, compiled and restored: the strategy's scope (when given; the
    tuner enters its own) under the run's dtype policy (mixed precision or float32)."""
    with (strategy.scope() if strategy else contextlib.nullcontext()), \
            dtype_policy(policy_name(config.runtime.mixed_precision)):
        yield
