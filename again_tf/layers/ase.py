"""Attribution Span Enlargement (spec section 1): channel masks from an auxiliary linear head."""

from __future__ import annotations

import keras
import tensorflow as tf

from again_tf import randomness


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

    Training: ``m = alpha * W[:, y] + (1 - alpha) * W[:, y']`` with ``y'`` the labels of a fresh
    random batch permutation. Inference: ``m = W[:, argmax(z_aux)]``, so no labels are needed.
    Returns ``(A * m, z_aux)``; ``z_aux = GAP(A) @ W + b`` feeds the auxiliary loss.
    """

    def __init__(self, num_classes: int, alpha: float = 0.6, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 2:
            raise ValueError(f"ASE needs num_classes >= 2, got {num_classes}.")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"ASE alpha must be in [0, 1], got {alpha}.")
        self.num_classes = int(num_classes)
        self.alpha = float(alpha)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(channels, self.num_classes), initializer=torch_linear_initializer()
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_classes,), initializer=torch_linear_initializer()
        )

    def call(self, features, labels=None, training=None):
        features = tf.convert_to_tensor(features)
        kernel = tf.cast(self.kernel, features.dtype)
        aux_logits = tf.reduce_mean(features, axis=[1, 2]) @ kernel + tf.cast(self.bias, features.dtype)
        if training:
            if labels is None:
                raise ValueError(
                    "ASE in training mode needs the true labels: call the model with "
                    "labels=y (AgainModel.train_step does), or use training=False."
                )
            labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
            random_labels = tf.gather(labels, randomness.permutation(tf.shape(labels)[0]))
            mask = ase_mask(kernel, labels, random_labels, self.alpha)
        else:
            predicted = tf.argmax(aux_logits, axis=-1, output_type=tf.int32)
            mask = ase_mask(kernel, predicted, predicted, 1.0)
        return features * mask[:, None, None, :], tf.cast(aux_logits, tf.float32)  # losses in float32

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "alpha": self.alpha}
