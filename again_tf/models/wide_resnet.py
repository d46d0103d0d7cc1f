"""Pre-activation networks: PreAct ResNet-18 and WideResNet (the AWP/CAS/AGAIN code's WRN)."""

from __future__ import annotations

import keras

from again_tf.models.backbone import Backbone, run_blocks
from again_tf.models.blocks import PreActBlock, apply_site, batch_norm, conv3x3


class PreActBackbone(Backbone):
    """Stem conv, stages of PreActBlocks, final BN+ReLU; the ``features`` site follows it."""

    def build_stages(self, stem_width, stage_widths, blocks_per_stage, strides, dropout=0.0):
        sync = self.sync_batchnorm
        self.stem_conv = conv3x3(stem_width)
        self.blocks = []
        last_stage = len(stage_widths) - 1
        for stage, (width, count) in enumerate(zip(stage_widths, blocks_per_stage)):
            for index in range(count):
                is_last = stage == last_stage and index == count - 1
                self.blocks.append(
                    PreActBlock(
                        width,
                        strides=strides[stage] if index == 0 else 1,
                        synchronized=sync,
                        site=self.make_site("block") if is_last else None,
                        dropout=dropout,
                    )
                )
        self.final_bn = batch_norm(sync)
        self.features_site = self.make_site("features")

    def call(self, x, labels=None, training=None, paired=False):
        x = self.stem_conv(x)
        x, aux = run_blocks(self.blocks, x, labels, training, paired)
        x = keras.ops.relu(self.final_bn(x, training=training))
        x, features_aux = apply_site(self.features_site, x, labels, training, paired)
        return x, aux + ([features_aux] if features_aux is not None else [])


@keras.saving.register_keras_serializable(package="again_tf")
class PreActResNet(PreActBackbone):
    """PreAct ResNet (He et al. 2016); ``(2, 2, 2, 2)`` is PreAct ResNet-18."""

    def __init__(self, num_classes, blocks_per_stage=(2, 2, 2, 2), base_width=64, **kwargs):
        super().__init__(num_classes, **kwargs)
        self.blocks_per_stage = tuple(int(b) for b in blocks_per_stage)
        self.base_width = int(base_width)
        widths = [self.base_width * 2**s for s in range(len(self.blocks_per_stage))]
        strides = [1] + [2] * (len(widths) - 1)
        self.build_stages(self.base_width, widths, self.blocks_per_stage, strides)

    def get_config(self):
        return {
            **super().get_config(),
            "blocks_per_stage": list(self.blocks_per_stage),
            "base_width": self.base_width,
        }


@keras.saving.register_keras_serializable(package="again_tf")
class WideResNet(PreActBackbone):
    """WRN-depth-widen (Zagoruyko and Komodakis 2016): 3 stages of (depth - 4) / 6 blocks."""

    def __init__(self, num_classes, depth=34, widen_factor=10, dropout=0.0, **kwargs):
        super().__init__(num_classes, **kwargs)
        if (int(depth) - 4) % 6 != 0:
            raise ValueError(f"WideResNet depth must be 6n + 4 (e.g. 28, 34), got {depth}.")
        self.depth, self.widen_factor, self.dropout = int(depth), int(widen_factor), float(dropout)
        count = (self.depth - 4) // 6
        widths = [16 * self.widen_factor, 32 * self.widen_factor, 64 * self.widen_factor]
        self.build_stages(16, widths, (count,) * 3, (1, 2, 2), self.dropout)

    def get_config(self):
        return {
            **super().get_config(),
            "depth": self.depth,
            "widen_factor": self.widen_factor,
            "dropout": self.dropout,
        }
