"""The target classes of the targeted attacks (APGD-T, FAB-T): the runner-up classes in turn."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.models.outputs import main_logits


def kth_largest_class(logits: tf.Tensor, k: int) -> tf.Tensor:
    """The class with the k-th largest logit (k = 2: the runner-up), the targets of APGD-T/FAB-T."""
    return tf.cast(tf.math.top_k(logits, k=k).indices[:, k - 1], tf.int32)


def check_target_classes(model_fn: Callable, x: tf.Tensor, n_target_classes: int) -> None:
    """Targets are the other classes, so at most (number of classes - 1) of them."""
    n_classes = int(main_logits(model_fn(x[:1])).shape[-1])
    if not 1 <= n_target_classes < n_classes:
        raise ValueError(f"n_target_classes must be in [1, {n_classes - 1}] for a model with {n_classes} "
                         f"classes, got {n_target_classes}.")
