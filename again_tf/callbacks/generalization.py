"""The robust generalization gap during training (the seed's "Analysis of the Generalization"):
clean and PGD-10 accuracy on a fixed training subset and a fixed test subset, every few epochs.

Adversarially trained models fit their training set's adversarial examples far better than the
test set's; AGAIN claims to narrow that gap.

Each value is written once per medium: into the epoch logs (so metrics.csv has a column for it)
and, with the same tags under the ``gap_train`` and ``gap_test`` runs, into TensorBoard, which
draws each train/test pair of curves on one chart. The callback therefore comes after Keras'
TensorBoard callback in the list, which would otherwise also write the logged values as
``epoch_gap_*`` scalars of the ``train`` run.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from again_tf.evaluation import AttackSpec, EvalSettings, gradient_columns, keras_target

PGD = AttackSpec("pgd10", "pgd", 10)


def fixed_subset(arrays, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` examples drawn once with ``seed``, as float [0, 1] images and int32 labels."""
    x, y = arrays
    index = np.sort(np.random.default_rng(seed).choice(len(x), min(count, len(x)), replace=False))
    return (x[index] / 255.0).astype(np.float32), y[index].astype(np.int32)


class GeneralizationGap(keras.callbacks.Callback):
    """Logs ``gap_<split>_clean`` and ``gap_<split>_pgd10`` (worst case through the ASE heads, as
    ``training.evaluate`` measures it) for split in train, test, every ``every`` epochs; the
    skipped epochs log nothing (an empty metrics.csv cell, no TensorBoard point)."""

    def __init__(self, splits: dict, settings: EvalSettings, image_shape, log_dir: str | Path | None,
                 every: int = 1):
        super().__init__()
        self.splits, self.settings, self.every = splits, settings, every
        self.image_shape = tuple(image_shape)
        self.writers = {name: tf.summary.create_file_writer(str(Path(log_dir) / f"gap_{name}"))
                        for name in splits} if log_dir else {}

    def measure(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        target = keras_target(self.model, self.image_shape)
        use_aux, size = target.has_aux(), self.settings.batch_size
        clean, robust = [], []
        for start in range(0, len(x), size):
            xb, yb = tf.constant(x[start:start + size]), tf.constant(y[start:start + size])
            clean.append(target.correct(xb, yb))
            robust.append(gradient_columns(target, PGD, self.settings, xb, yb, use_aux)[PGD.name])
        return float(np.concatenate(clean).mean()), float(np.concatenate(robust).mean())

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        for name, (x, y) in self.splits.items():
            clean, robust = self.measure(x, y)
            if logs is not None:
                logs[f"gap_{name}_clean"], logs[f"gap_{name}_pgd10"] = clean, robust
            if name in self.writers:
                with self.writers[name].as_default():
                    tf.summary.scalar("gap/clean_accuracy", clean, step=epoch + 1)
                    tf.summary.scalar("gap/pgd10_accuracy", robust, step=epoch + 1)
                self.writers[name].flush()
