"""Puts the optimizer's current learning rate into the epoch logs, so metrics.csv has it.

The key is Keras' own ``learning_rate``: Keras' TensorBoard callback already writes the rate as
``epoch_learning_rate`` (and its LearningRateScheduler logs the same key), so the rate in the logs
and Keras' TensorBoard scalar are one and the same curve, not two.
"""

from __future__ import annotations

import keras

KEY = "learning_rate"


class LearningRateLogger(keras.callbacks.Callback):
    """Must come before the metrics.csv writer in the callback list: it reads the same dict."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[KEY] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
