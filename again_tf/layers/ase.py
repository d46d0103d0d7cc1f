"""Attribution Span Enlargement (spec section 1): channel masks from an auxiliary linear head."""

from __future__ import annotations

import keras
import tensorflow as tf

from again_tf import randomness
from again_tf.config.schema import MASK_SOURCES


def torch_linear_initializer() -> keras.initializers.Initializer:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's nn.Linear default, which the release uses."""
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def ase_mask(kernel: tf.Tensor, labels: tf.Tensor, random_labels: tf.Tensor, alpha: float) -> tf.Tensor:
    """``alpha * W[:, y] + (1 - alpha) * W[:, y']`` as ``[N, C]``; ``kernel`` is ``[C, K]``."""
    columns = tf.transpose(kernel)
    return alpha * tf.gather(columns, labels) + (1.0 - alpha) * tf.gather(columns, random_labels)


@keras.saving.register_keras_serializable(package="again_tf")
class ASE(keras.layers.Layer):
    """Masks the channels of ``A`` with columns of the auxiliary head ``W_ase``.

    ``mask_source`` says where the training mask comes from:

    * ``label`` (the paper): ``m = alpha * W[:, y] + (1 - alpha) * W[:, y']``, ``y'`` the labels of a
      fresh batch permutation; at inference ``m = W[:, argmax(z_aux)]``. The training mask carries
      the true label, which the main head can learn to read (the leak docs/results.md measures).
    * ``prediction``: as ``label`` with the auxiliary head's own argmax in place of ``y`` and a
      uniformly random class as ``y'``, so no label reaches the mask; inference as ``label``.
    * ``soft``: ``m = W softmax(z_aux / temperature)`` in training and inference (differentiable:
      no argmax for an attack to be blind to), mixed in training with a random class's column
      when ``alpha < 1``.

    Returns ``(A * m, z_aux)``; ``z_aux = GAP(head_input) @ W + b`` feeds the auxiliary loss, where
    ``head_input`` defaults to ``A`` (an AGAIN site passes the features before HFF there when the
    head is to read them unfused).
    """

    def __init__(self, num_classes: int, alpha: float = 0.6, mask_source: str = "label",
                 temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 2:
            raise ValueError(f"ASE needs num_classes >= 2, got {num_classes}.")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"ASE alpha must be in [0, 1], got {alpha}.")
        if mask_source not in MASK_SOURCES:
            raise ValueError(f"ASE mask_source {mask_source!r}; allowed: {', '.join(MASK_SOURCES)}.")
        if float(temperature) <= 0.0:
            raise ValueError(f"ASE temperature must be > 0, got {temperature}.")
        self.num_classes = int(num_classes)
        self.alpha = float(alpha)
        self.mask_source = mask_source
        self.temperature = float(temperature)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(channels, self.num_classes), initializer=torch_linear_initializer()
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_classes,), initializer=torch_linear_initializer()
        )

    def call(self, features, labels=None, training=None, head_input=None):
        features = tf.convert_to_tensor(features)
        head_input = features if head_input is None else tf.convert_to_tensor(head_input)
        kernel = tf.cast(self.kernel, features.dtype)
        aux_logits = tf.reduce_mean(head_input, axis=[1, 2]) @ kernel + tf.cast(self.bias, features.dtype)
        mask = self.mask(kernel, aux_logits, labels, training)
        return features * mask[:, None, None, :], tf.cast(aux_logits, tf.float32)  # losses in float32

    def mask(self, kernel: tf.Tensor, aux_logits: tf.Tensor, labels, training) -> tf.Tensor:
        """The ``[N, C]`` channel mask (see the class docstring)."""
        predicted = tf.argmax(aux_logits, axis=-1, output_type=tf.int32)
        if self.mask_source == "soft":
            probs = tf.nn.softmax(tf.cast(aux_logits, tf.float32) / self.temperature, axis=-1)
            mask = tf.cast(probs, kernel.dtype) @ tf.transpose(kernel)
            if training and self.alpha < 1.0:
                random = tf.gather(tf.transpose(kernel), self._random_classes(predicted))
                mask = self.alpha * mask + (1.0 - self.alpha) * random
            return mask
        if not training:
            return ase_mask(kernel, predicted, predicted, 1.0)
        if self.mask_source == "prediction":
            return ase_mask(kernel, predicted, self._random_classes(predicted), self.alpha)
        if labels is None:
            raise ValueError(
                "ASE in training mode needs the true labels: call the model with "
                "labels=y (AgainModel.train_step does), or use training=False."
            )
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        random_labels = tf.gather(labels, randomness.permutation(tf.shape(labels)[0]))
        return ase_mask(kernel, labels, random_labels, self.alpha)

    def _random_classes(self, like: tf.Tensor) -> tf.Tensor:
        """One uniformly random class per example, drawn without looking at any label."""
        return randomness.categorical(tf.zeros([tf.shape(like)[0], self.num_classes]))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "alpha": self.alpha,
                "mask_source": self.mask_source, "temperature": self.temperature}
