"""Residual blocks shared by the backbones; each may carry an AGAIN site on its residual branch."""

from __future__ import annotations

import keras

from again_tf.layers.site import AgainSite
from again_tf.models.site_tap import record


def conv3x3(filters: int, strides: int = 1, name: str | None = None) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(
        filters, 3, strides=strides, padding="same", use_bias=False,
        kernel_initializer="he_normal", name=name,
    )


def conv1x1(filters: int, strides: int = 1, name: str | None = None) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(
        filters, 1, strides=strides, padding="same", use_bias=False,
        kernel_initializer="he_normal", name=name,
    )


def batch_norm(synchronized: bool, name: str | None = None) -> keras.layers.BatchNormalization:
    """PyTorch's BN defaults (momentum 0.1 there is 0.9 here); ``synchronized`` for SyncBN."""
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=synchronized, name=name
    )


def apply_site(site: AgainSite | None, x, labels, training, paired):
    """Runs ``site`` if there is one; returns ``(features, aux_logits or None)``."""
    if site is None:
        return x, None
    features, aux = site(x, labels=labels, training=training, paired=paired)
    record(site.name.removeprefix("site_"), features)
    return features, aux


class BasicBlock(keras.layers.Layer):
    """Post-activation ResNet block; a site masks the residual branch input, not the shortcut."""

    def __init__(self, filters, strides=1, synchronized=False, site=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = filters, strides
        self.conv1, self.bn1 = conv3x3(filters, strides), batch_norm(synchronized)
        self.conv2, self.bn2 = conv3x3(filters), batch_norm(synchronized)
        self.site = site
        self.synchronized = synchronized
        self.projection_conv = self.projection_bn = None

    def build(self, input_shape):
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.projection_conv = conv1x1(self.filters, self.strides)
            self.projection_bn = batch_norm(self.synchronized)

    def call(self, x, labels=None, training=None, paired=False):
        branch, aux = apply_site(self.site, x, labels, training, paired)
        out = keras.ops.relu(self.bn1(self.conv1(branch), training=training))
        out = self.bn2(self.conv2(out), training=training)
        shortcut = x
        if self.projection_conv is not None:
            shortcut = self.projection_bn(self.projection_conv(x), training=training)
        return keras.ops.relu(out + shortcut), aux


class PreActBlock(keras.layers.Layer):
    """Pre-activation block (PreAct ResNet, WideResNet); a site sits after BN+ReLU, before conv1.

    The identity shortcut sees the unmasked block input; a projection shortcut sees the unmasked
    pre-activation, as in the reference WRN code.
    """

    def __init__(self, filters, strides=1, synchronized=False, site=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = filters, strides
        self.bn1, self.conv1 = batch_norm(synchronized), conv3x3(filters, strides)
        self.bn2, self.conv2 = batch_norm(synchronized), conv3x3(filters)
        self.dropout = keras.layers.Dropout(dropout) if dropout > 0 else None
        self.site = site
        self.projection = None

    def build(self, input_shape):
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.projection = conv1x1(self.filters, self.strides)

    def call(self, x, labels=None, training=None, paired=False):
        pre = keras.ops.relu(self.bn1(x, training=training))
        shortcut = x if self.projection is None else self.projection(pre)
        branch, aux = apply_site(self.site, pre, labels, training, paired)
        out = keras.ops.relu(self.bn2(self.conv1(branch), training=training))
        if self.dropout is not None:
            out = self.dropout(out, training=training)
        return self.conv2(out) + shortcut, aux
