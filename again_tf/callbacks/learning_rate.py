"""Puts the current learning rate into the epoch logs (so CSVLogger and TensorBoard get it)."""

from __future__ import annotations

import keras


class LearningRateLogger(keras.callbacks.Callback):
    """Must come before CSVLogger/TensorBoard in the callback list: they read the same dict."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
