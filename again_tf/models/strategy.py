"""LAS-AT's strategy network: a backbone and one categorical head per attack parameter."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="again_tf")
class StrategyNetwork(keras.Model):
    """``strategy(images)`` gives a tuple of logits, one ``[N, size]`` tensor per entry of
    ``head_sizes`` (LAS-AT: eps, step size, iterations), from the normalised images."""

    def __init__(self, backbone, head_sizes, mean, std, **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        self.backbone = backbone
        self.head_sizes = tuple(int(s) for s in head_sizes)
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]
        self.normalize = keras.layers.Normalization(mean=self.mean, variance=[s * s for s in self.std],
                                                    name="normalize")
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.heads = [keras.layers.Dense(size, name=f"head_{i}") for i, size in enumerate(self.head_sizes)]

    def build(self, input_shape):
        self.call(tf.zeros((1, *input_shape[1:])), training=False)
        self.built = True

    def call(self, images, training=None):
        features, _ = self.backbone(self.normalize(images), training=training)
        pooled = self.pool(features)
        return tuple(head(pooled) for head in self.heads)

    def get_config(self):
        return {**super().get_config(), "backbone": keras.saving.serialize_keras_object(self.backbone),
                "head_sizes": self.head_sizes, "mean": self.mean, "std": self.std}
