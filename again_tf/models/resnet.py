"""CIFAR ResNet-18 (post-activation BasicBlocks, 3x3 stem), as in the PGD-AT/TRADES literature."""

from __future__ import annotations

import keras

from again_tf.models.backbone import Backbone, run_blocks
from again_tf.models.blocks import BasicBlock, apply_site, batch_norm, conv3x3


@keras.saving.register_keras_serializable(package="again_tf")
class ResNet(Backbone):
    """ResNet with ``blocks_per_stage`` BasicBlocks per stage (2, 2, 2, 2 is ResNet-18)."""

    def __init__(self, num_classes, blocks_per_stage=(2, 2, 2, 2), base_width=64, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.blocks_per_stage = tuple(int(b) for b in blocks_per_stage)
        self.base_width = int(base_width)
        sync = self.sync_batchnorm
        self.stem_conv, self.stem_bn = conv3x3(self.base_width), batch_norm(sync)
        self.blocks = []
        last_stage = len(self.blocks_per_stage) - 1
        for stage, count in enumerate(self.blocks_per_stage):
            for index in range(count):
                is_last = stage == last_stage and index == count - 1
                self.blocks.append(
                    BasicBlock(
                        self.base_width * 2**stage,
                        strides=2 if stage > 0 and index == 0 else 1,
                        synchronized=sync,
                        site=self.make_site("block") if is_last else None,
                    )
                )
        self.features_site = self.make_site("features")

    def call(self, x, labels=None, training=None, paired=False):
        x = keras.ops.relu(self.stem_bn(self.stem_conv(x), training=training))
        x, aux = run_blocks(self.blocks, x, labels, training, paired)
        x, features_aux = apply_site(self.features_site, x, labels, training, paired)
        return x, aux + ([features_aux] if features_aux is not None else [])

    def get_config(self):
        return {
            **super().get_config(),
            "blocks_per_stage": list(self.blocks_per_stage),
            "base_width": self.base_width,
        }
