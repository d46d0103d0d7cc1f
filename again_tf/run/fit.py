"""Fitting a run from any global step, so an interrupted run continues exactly where it stopped."""

from __future__ import annotations

from pathlib import Path

import keras

from again_tf.callbacks import PreemptionCheckpoint
from again_tf.callbacks.metrics_csv import keep_epochs_before
from again_tf.config import RunConfig
from again_tf.data import DataBundle
from again_tf.run.callbacks import METRICS, run_callbacks


def fit_from(model: keras.Model, config: RunConfig, data: DataBundle, run_dir: Path, steps_per_epoch: int,
             start: int) -> None:
    """Fits from global step ``start``: the data skips the batches already seen, a partial first
    epoch runs its remaining steps, then the remaining epochs."""
    first_epoch, done = divmod(start, steps_per_epoch)
    keep_epochs_before(run_dir / METRICS, first_epoch)
    hooks = run_callbacks(run_dir, config, data)
    common = {"validation_data": data.val, "callbacks": hooks, "verbose": config.verbose,
              "shuffle": False}  # the tf.data pipeline shuffles, seeded
    preemption = next(h for h in hooks if isinstance(h, PreemptionCheckpoint))
    with preemption.across_fits():
        if done:
            model.fit(data.train_from(start), initial_epoch=first_epoch, epochs=first_epoch + 1,
                      steps_per_epoch=steps_per_epoch - done, **common)
            first_epoch += 1
        if first_epoch < config.optim.epochs:
            model.fit(data.train_from(first_epoch * steps_per_epoch), initial_epoch=first_epoch,
                      epochs=config.optim.epochs, steps_per_epoch=steps_per_epoch, **common)
