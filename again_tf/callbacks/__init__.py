"""Keras callbacks the training CLI adds to every run."""

from again_tf.callbacks.learning_rate import LearningRateLogger

__all__ = ["LearningRateLogger"]
