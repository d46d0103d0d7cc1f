"""Adversarial examples and their perturbations as TensorBoard images, every few epochs.

The perturbation is shown as ``0.5 + delta / (2 eps)``: mid-grey is no change, black and white
are -eps and +eps, so the picture's scale is the same whatever eps is.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from again_tf.attacks.pgd import PGDSettings, pgd_through_heads
from again_tf.evaluation import keras_target


def adversarial_examples(model, x: tf.Tensor, y: tf.Tensor, attack: PGDSettings) -> tf.Tensor:
    """PGD through the ASE heads (the stronger attack on an AGAIN model), inference mode."""
    target = keras_target(model, x.shape[1:])
    return pgd_through_heads(target.outputs_fn, x, y, beta_aux=target.beta_aux, **attack.kwargs())


class AdversarialImages(keras.callbacks.Callback):
    def __init__(self, images: np.ndarray, labels: np.ndarray, attack: PGDSettings, log_dir: str | Path,
                 every: int):
        super().__init__()
        self.images, self.labels = tf.constant(images), tf.constant(labels)
        self.attack, self.every = attack, every
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "images"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        x_adv = adversarial_examples(self.model, self.images, self.labels, self.attack)
        delta = 0.5 + (x_adv - self.images) / (2 * self.attack.eps)
        with self.writer.as_default():
            tf.summary.image("adversarial/clean", self.images, step=epoch + 1, max_outputs=16)
            tf.summary.image("adversarial/x_adv", x_adv, step=epoch + 1, max_outputs=16)
            tf.summary.image("adversarial/perturbation", tf.clip_by_value(delta, 0.0, 1.0),
                             step=epoch + 1, max_outputs=16)
        self.writer.flush()
