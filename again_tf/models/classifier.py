"""Classifier: normalisation + backbone + pooled linear head; the deployed model's forward pass."""

from __future__ import annotations

import keras
import tensorflow as tf

from again_tf.layers.ase import torch_linear_initializer
from again_tf.models.outputs import ModelOutputs
from again_tf.models.site_tap import tap_sites


@keras.saving.register_keras_serializable(package="again_tf")
class Classifier(keras.Model):
    """``model(images)`` gives the main logits (ASE in inference mode); ``model.forward(images,
    labels, training)`` gives ``ModelOutputs`` with the auxiliary logits (in training mode the ASE
    masks need ``labels``). Images are in [0, 1]: the mean/std normalisation is a layer here, so
    every epsilon is in pixel units."""

    def __init__(self, backbone, num_classes, mean, std, hff_style="shuffle", **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        self.backbone = backbone
        self.num_classes = int(num_classes)
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]
        self.hff_style = hff_style
        self.normalize = keras.layers.Normalization(  # float32 under mixed precision too
            mean=self.mean, variance=[s * s for s in self.std], name="normalize", dtype="float32"
        )
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
        self.head = keras.layers.Dense(
            self.num_classes, kernel_initializer=torch_linear_initializer(),
            bias_initializer=torch_linear_initializer(), name="head", dtype="float32",
        )

    def build(self, input_shape):
        """Builds every sublayer with one inference pass on zeros of ``input_shape``."""
        self.image_shape = tuple(int(d) for d in input_shape[1:])
        self.call(tf.zeros((1, *self.image_shape)), training=False)
        self.built = True

    def call(self, images, labels=None, training=None, style_images=None, return_aux=False):
        x = self.normalize(images)
        paired = style_images is not None
        if paired:  # HFF style="clean": the clean half supplies the statistics, then is dropped
            x = tf.concat([x, self.normalize(style_images)], axis=0)
            labels = None if labels is None else tf.concat([labels, labels], axis=0)
        features, aux = self.backbone(x, labels=labels, training=training, paired=paired)
        logits = self.head(self.pool(features))
        if paired:
            count = tf.shape(images)[0]
            logits, aux = logits[:count], [a[:count] for a in aux]
        return (logits, tuple(aux)) if return_aux else logits

    def forward(self, images, labels=None, training=False, style_images=None) -> ModelOutputs:
        logits, aux = self(images, labels=labels, training=training, style_images=style_images,
                           return_aux=True)
        return ModelOutputs(logits, aux)

    def adversarial_pass(self, x_adv, labels, x, training: bool) -> ModelOutputs:
        """F(x_adv) as a training loss reads it: in training mode with the true labels (ASE), HFF's
        ``clean`` style taking its statistics from the clean batch ``x``; else inference mode."""
        if not training:
            return self.forward(x_adv, training=False)
        style = x if self.hff_style == "clean" else None
        return self.forward(x_adv, labels, training=True, style_images=style)

    def inference_fn(self):
        return lambda images: self.forward(images, training=False)

    def features_and_logits(self, images, site: str | None = None):
        """The output of AGAIN site ``site`` (default: the last one, else the final feature map)
        and the logits, in inference mode: what Grad-CAM needs. Eager only."""
        site = site or (self.backbone.sites[-1] if self.backbone.sites else "features")
        if site not in self.backbone.sites and site != "features":
            raise ValueError(f"no AGAIN site {site!r} in this model; it has {list(self.backbone.sites)} "
                             f"(or 'features', the final feature map).")
        with tap_sites() as outputs:
            features, _ = self.backbone(self.normalize(images), training=False)
        return outputs.get(site, features), self.head(self.pool(features))

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "mean": self.mean,
            "std": self.std,
            "hff_style": self.hff_style,
        }
