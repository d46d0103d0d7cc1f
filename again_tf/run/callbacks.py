"""The callbacks of a training run, in the order their shared epoch logs require.

Keras hands every callback the same ``logs`` dict in list order. Keras' TensorBoard comes before
the callbacks that measure every few epochs (gap, span): those write their curves to TensorBoard
runs of their own, and TensorBoard, seeing only Keras' metrics (and adding the learning rate
itself), does not write them a second time as ``epoch_*`` scalars. The metrics.csv writer comes
after all of them, so it gets every value; the training state is saved last, once the epoch's
logs and checkpoints exist.
"""

from __future__ import annotations

from pathlib import Path

import keras

from again_tf.callbacks import (
    AdversarialImages,
    AttributionSpan,
    GeneralizationGap,
    LearningRateLogger,
    MetricsCSV,
    PreemptionCheckpoint,
    StopOnNonFiniteLoss,
    fixed_subset,
)
from again_tf.callbacks.metrics_csv import column_values
from again_tf.config import RunConfig
from again_tf.data import DataBundle
from again_tf.engine import eval_attack_settings
from again_tf.evaluation import EvalSettings
from again_tf.run.folder import state_dir

METRICS = "metrics.csv"
TENSORBOARD = "tensorboard"
BEST_ROBUST_MONITOR = "val_robust_accuracy"  # the metrics.csv column best_robust.keras is chosen by


def gap_callback(config: RunConfig, data: DataBundle, run_dir: Path) -> list[keras.callbacks.Callback]:
    """The generalization-gap curves, when ``eval.gap_examples`` > 0."""
    n = config.eval.gap_examples
    if not n:
        return []
    splits = {"train": fixed_subset(data.train_arrays, n, config.seed),
              "test": fixed_subset(data.test_arrays, n, config.seed + 1)}
    a = config.attack
    settings = EvalSettings(eps=a.eps, step_size=config.eval.step_size, norm=a.norm, seed=config.seed,
                            batch_size=max(config.data.batch_size, 256))
    return [GeneralizationGap(splits, settings, data.info.image_shape, run_dir / TENSORBOARD,
                              config.eval.gap_every)]


def monitor_callbacks(config: RunConfig, data: DataBundle, run_dir: Path) -> list[keras.callbacks.Callback]:
    """Adversarial-example images and attribution-span scalars, when their interval is set."""
    e = config.eval
    if not (e.image_every or e.span_every):
        return []
    x, y = fixed_subset(data.test_arrays, e.monitor_examples, config.seed + 2)
    args = (x, y, eval_attack_settings(config, steps=10), run_dir / TENSORBOARD)
    return ([AdversarialImages(*args, e.image_every)] if e.image_every else []) + \
        ([AttributionSpan(*args, e.span_every)] if e.span_every else [])


def best_robust_checkpoint(run_dir: Path) -> keras.callbacks.ModelCheckpoint:
    """best_robust.keras, which a resumed run replaces only when it beats the epochs logged so far."""
    best = keras.callbacks.ModelCheckpoint(
        str(run_dir / "checkpoints" / "best_robust.keras"), monitor=BEST_ROBUST_MONITOR, mode="max",
        save_best_only=True,
    )
    best.best = max(column_values(run_dir / METRICS, BEST_ROBUST_MONITOR), default=best.best)
    return best


def run_callbacks(run_dir: Path, config: RunConfig, data: DataBundle) -> list[keras.callbacks.Callback]:
    """Every callback of a run writing to ``run_dir`` (see the module docstring for the order)."""
    checkpoints = run_dir / "checkpoints"
    return [
        StopOnNonFiniteLoss(f"{checkpoints / 'last.keras'} holds the last good epoch and "
                            f"{state_dir(run_dir)} the last good training state (if any). "),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / TENSORBOARD), write_graph=False),
        LearningRateLogger(),
        *gap_callback(config, data, run_dir),
        *monitor_callbacks(config, data, run_dir),
        MetricsCSV(run_dir / METRICS),
        keras.callbacks.ModelCheckpoint(str(checkpoints / "last.keras")),
        best_robust_checkpoint(run_dir),
        PreemptionCheckpoint(state_dir(run_dir), config.runtime.checkpoint_every),
    ]
