"""Keras callbacks the training CLI adds to every run."""

from again_tf.callbacks.adversarial_images import AdversarialImages, adversarial_examples
from again_tf.callbacks.attribution_span import AttributionSpan
from again_tf.callbacks.generalization import GeneralizationGap, fixed_subset
from again_tf.callbacks.hparams import write_hparams
from again_tf.callbacks.learning_rate import LearningRateLogger
from again_tf.callbacks.metrics_csv import MetricsCSV
from again_tf.callbacks.non_finite import NonFiniteLossError, StopOnNonFiniteLoss
from again_tf.callbacks.preemption import Preempted, PreemptionCheckpoint, restore_state, saved_step

__all__ = [
    "AdversarialImages", "AttributionSpan", "adversarial_examples",
    "GeneralizationGap", "LearningRateLogger", "MetricsCSV", "NonFiniteLossError", "Preempted",
    "PreemptionCheckpoint",
    "StopOnNonFiniteLoss", "fixed_subset", "restore_state", "saved_step", "write_hparams",
]
