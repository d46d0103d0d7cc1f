"""Attribution maps of a classifier: Integrated Gradients and Grad-CAM (the seed's
"Visualization"), as plain functions of tensors."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


def _class_scores(logits: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    return tf.gather(logits, tf.cast(tf.reshape(classes, [-1]), tf.int32), axis=1, batch_dims=1)


def integrated_gradients(logits_fn: Callable, images: tf.Tensor, classes: tf.Tensor,
                         steps: int = 32, baseline: tf.Tensor | None = None) -> tf.Tensor:
    """Sundararajan et al. 2017: ``(x - x') * mean_k dF_c(x' + k/m (x - x')) / dx``, k = 1..m
    (right Riemann sum), baseline black. Returns ``[N, H, W, C]``; the sum over pixels
    approaches ``F_c(x) - F_c(x')`` as ``steps`` grows (completeness)."""
    images = tf.convert_to_tensor(images, tf.float32)
    baseline = tf.zeros_like(images) if baseline is None else baseline
    total = tf.zeros_like(images)
    for k in range(1, steps + 1):
        point = baseline + (k / steps) * (images - baseline)
        with tf.GradientTape() as tape:
            tape.watch(point)
            score = tf.reduce_sum(_class_scores(logits_fn(point), classes))
        total += tape.gradient(score, point)
    return (images - baseline) * total / steps


def grad_cam(features_fn: Callable, images: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    """Selvaraju et al. 2017: ``ReLU(sum_c mean_hw(dF_c/dA_c) A_c)`` on the feature map ``A`` that
    ``features_fn(images) -> (A, logits)`` exposes, resized to the image; ``[N, H, W]``."""
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)  # so that a feature map computed from the images is differentiable
        features, logits = features_fn(images)
        score = tf.reduce_sum(_class_scores(logits, classes))
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
    return tf.image.resize(cam, tf.shape(images)[1:3], method="bilinear")[..., 0]


def pixel_map(attribution: tf.Tensor) -> tf.Tensor:
    """``|attribution|`` summed over channels: ``[N, H, W, C]`` -> ``[N, H, W]``."""
    return tf.reduce_sum(tf.abs(attribution), axis=-1)
