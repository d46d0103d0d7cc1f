"""A small, fast network for 28x28 grayscale data (the quickstart on Fashion-MNIST)."""

from __future__ import annotations

import keras

from again_tf.config.schema import SMALL_CNN_BLOCK_SITES
from again_tf.models.backbone import Backbone
from again_tf.models.blocks import apply_site, batch_norm, conv3x3


@keras.saving.register_keras_serializable(package="again_tf")
class SmallCNN(Backbone):
    """conv-conv-pool, conv-conv-pool, conv, [block site] conv, [features site].

    ``widths`` are the channels of the three groups (28x28, 14x14, 7x7). The ``block`` site masks
    the input of the last convolution and the ``features`` site its output, as the last ResNet
    block and the final features. The site's auxiliary head decides the inference mask, so the
    ``block`` site sits late (after five convolutions), where a linear probe is already strong.
    ``block_site_path``: ``series`` (every later layer sees the mask) or ``branch`` (the release's
    placement: the last convolution becomes a residual branch, ``relu(bn(conv(mask(x))) + x)``,
    and the shortcut carries the unmasked features).
    """

    def __init__(self, num_classes, widths=(32, 64, 128), block_site_path="series", **kwargs):
        super().__init__(num_classes, **kwargs)
        self.widths = tuple(int(w) for w in widths)
        if len(self.widths) != 3:
            raise ValueError(f"SmallCNN widths must have 3 entries, got {list(self.widths)}.")
        if block_site_path not in SMALL_CNN_BLOCK_SITES:
            raise ValueError(f"SmallCNN block_site_path {block_site_path!r}; allowed: "
                             f"{', '.join(SMALL_CNN_BLOCK_SITES)}.")
        self.block_site_path = block_site_path
        sync = self.sync_batchnorm
        w1, w2, w3 = self.widths
        self.convs = [conv3x3(w) for w in (w1, w1, w2, w2)]
        self.bns = [batch_norm(sync) for _ in range(4)]
        self.pool = keras.layers.MaxPooling2D(2)
        self.third_conv, self.third_bn = conv3x3(w3), batch_norm(sync)
        self.block_site = self.make_site("block")
        self.last_conv, self.last_bn = conv3x3(w3), batch_norm(sync)
        self.features_site = self.make_site("features")

    def call(self, x, labels=None, training=None, paired=False):
        for index, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            x = keras.ops.relu(bn(conv(x), training=training))
            if index % 2 == 1:
                x = self.pool(x)
        x = keras.ops.relu(self.third_bn(self.third_conv(x), training=training))
        branch, block_aux = apply_site(self.block_site, x, labels, training, paired)
        out = self.last_bn(self.last_conv(branch), training=training)
        x = keras.ops.relu(out + x if self.block_site_path == "branch" else out)
        x, features_aux = apply_site(self.features_site, x, labels, training, paired)
        return x, [a for a in (block_aux, features_aux) if a is not None]

    def get_config(self):
        return {**super().get_config(), "widths": list(self.widths), "block_site_path": self.block_site_path}
