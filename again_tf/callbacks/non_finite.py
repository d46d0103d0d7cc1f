"""Stops training at the first non-finite loss, before any checkpoint can store the bad weights.

Keras' ``TerminateOnNaN`` only sets ``stop_training``: the epoch still ends and the epoch-end
checkpoints would save the NaN weights over the last good ones. Raising instead leaves them.
"""

from __future__ import annotations

import math

import keras

from again_tf.errors import AgainError


class NonFiniteLossError(AgainError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    def __init__(self, checkpoint_hint: str = ""):
        super().__init__()
        self.checkpoint_hint = checkpoint_hint
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        raise NonFiniteLossError(
            f"the training loss became {float(loss)} at optimizer step {step} (epoch "
            f"{self._epoch + 1}, batch {batch + 1}); training stopped without saving. "
            f"{self.checkpoint_hint}Lower optim.lr, or check the data for NaN/Inf values."
        )
