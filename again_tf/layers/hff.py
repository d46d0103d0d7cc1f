"""Hybrid Feature Fusion (spec section 2): re-style features with a random mix of statistics."""

from __future__ import annotations

import keras
import tensorflow as tf

from again_tf import randomness


def channel_statistics(features: tf.Tensor, epsilon: float = 1e-5) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-sample, per-channel mean and std over H, W (unbiased variance + epsilon, then sqrt).

    With a 1x1 map the unbiased denominator would be 0; it is clamped to 1 instead of giving NaN.
    """
    mean = tf.reduce_mean(features, axis=[1, 2], keepdims=True)
    count = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], features.dtype)
    squares = tf.reduce_sum(tf.square(features - mean), axis=[1, 2], keepdims=True)
    variance = squares / tf.maximum(count - 1.0, 1.0)
    return mean, tf.sqrt(variance + epsilon)


def hybrid_feature_fusion(
    content: tf.Tensor, style: tf.Tensor, gamma: tf.Tensor, epsilon: float = 1e-5
) -> tf.Tensor:
    """FeatureFusion(A) = sigma_hat * (A - mu(A)) / sigma(A) + mu_hat, per the poster.

    ``gamma`` has shape ``[4]`` (one draw for the batch) or ``[N, 4]`` (one per sample) and
    weighs the statistics of ``A``, ``A'``, ``AdaIN(A -> A')`` and ``AdaIN(A' -> A)``.
    """
    mu_a, sigma_a = channel_statistics(content, epsilon)
    mu_s, sigma_s = channel_statistics(style, epsilon)
    a1 = sigma_s * (content - mu_a) / sigma_a + mu_s
    a2 = sigma_a * (style - mu_s) / sigma_s + mu_a
    mu_1, sigma_1 = channel_statistics(a1, epsilon)
    mu_2, sigma_2 = channel_statistics(a2, epsilon)
    gamma = tf.cast(gamma, content.dtype)
    g = tf.reshape(gamma, [-1, 1, 1, 1, 4]) if gamma.shape.rank == 2 else tf.reshape(gamma, [4])
    mu_hat = g[..., 0] * mu_a + g[..., 1] * mu_s + g[..., 2] * mu_1 + g[..., 3] * mu_2
    sigma_hat = g[..., 0] * sigma_a + g[..., 1] * sigma_s + g[..., 2] * sigma_1 + g[..., 3] * sigma_2
    return sigma_hat * (content - mu_a) / sigma_a + mu_hat


def sample_dirichlet(shape: list, concentration: float) -> tf.Tensor:
    """Dirichlet(c, c, c, c) draws as normalised Gamma(c) variables, shape ``shape + [4]``."""
    draws = randomness.gamma(list(shape) + [4], alpha=concentration)
    return draws / tf.reduce_sum(draws, axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="again_tf")
class HFF(keras.layers.Layer):
    """Applies hybrid feature fusion with probability ``probability`` per call, in training only.

    Style features: a random permutation of the batch (``style="shuffle"``), or, with
    ``paired=True`` at call time, the second half of the batch (the clean counterparts that the
    model appends for ``style="clean"``); that half passes through unchanged.
    """

    def __init__(
        self,
        probability: float = 1.0,
        concentration: float = 1.0,
        per_sample_gamma: bool = False,
        epsilon: float = 1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"HFF probability must be in [0, 1], got {probability}.")
        if float(concentration) <= 0.0:
            raise ValueError(f"HFF concentration must be > 0, got {concentration}.")
        self.probability = float(probability)
        self.concentration = float(concentration)
        self.per_sample_gamma = bool(per_sample_gamma)
        self.epsilon = float(epsilon)

    def call(self, features, training=None, paired=False):
        features = tf.convert_to_tensor(features)
        if not training or self.probability == 0.0:
            return features
        if self.probability >= 1.0:
            return self._fuse(features, paired)
        apply = randomness.uniform([]) < self.probability
        return tf.cond(apply, lambda: self._fuse(features, paired), lambda: features)

    def _fuse(self, features, paired):
        if paired:
            content, style = tf.split(features, 2, axis=0)
        else:
            content = features
            style = tf.gather(features, randomness.permutation(tf.shape(features)[0]))
        shape = [tf.shape(content)[0]] if self.per_sample_gamma else []
        gamma = sample_dirichlet(shape, self.concentration)
        fused = hybrid_feature_fusion(tf.cast(content, tf.float32), tf.cast(style, tf.float32), gamma,
                                      self.epsilon)  # statistics in float32 under mixed precision
        fused = tf.cast(fused, features.dtype)
        return tf.concat([fused, style], axis=0) if paired else fused

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "probability": self.probability,
            "concentration": self.concentration,
            "per_sample_gamma": self.per_sample_gamma,
            "epsilon": self.epsilon,
        }
