"""Keras callbacks the training CLI adds to every run."""

from again_tf.callbacks.generalization import GeneralizationGap, fixed_subset
from again_tf.callbacks.learning_rate import LearningRateLogger
from again_tf.callbacks.non_finite import NonFiniteLossError, StopOnNonFiniteLoss

__all__ = [
    "GeneralizationGap", "LearningRateLogger", "NonFiniteLossError", "StopOnNonFiniteLoss", "fixed_subset",
]
