"""Builds a backbone from the model and AGAIN configs."""

from __future__ import annotations

from again_tf.config.schema import BACKBONES, AgainConfig, ModelConfig
from again_tf.errors import ConfigError
from again_tf.models.backbone import Backbone
from again_tf.models.resnet import ResNet
from again_tf.models.small_cnn import SmallCNN
from again_tf.models.wide_resnet import PreActResNet, WideResNet

NAMED_WRN = {"wrn34_10": (34, 10), "wrn28_10": (28, 10)}


def build_backbone(model: ModelConfig, again: AgainConfig, num_classes: int) -> Backbone:
    """AGAIN off (``ase`` and ``hff`` false) gives the plain network with no sites."""
    common = dict(
        num_classes=num_classes,
        sites=tuple(model.sites),
        again=dict(
            use_ase=again.ase,
            alpha=again.alpha,
            use_hff=again.hff,
            hff_probability=again.hff_probability,
            hff_concentration=again.hff_concentration,
            hff_per_sample_gamma=again.hff_per_sample_gamma,
            hff_placement=again.hff_placement,
            mask_source=again.mask_source,
            mask_temperature=again.mask_temperature,
        ),
        sync_batchnorm=model.sync_batchnorm,
        name="backbone",
    )
    if model.backbone == "small_cnn":
        return SmallCNN(widths=tuple(model.widths), block_site_path=model.block_site_path, **common)
    if model.backbone == "resnet18":
        return ResNet(blocks_per_stage=(2, 2, 2, 2), **common)
    if model.backbone == "preact_resnet18":
        return PreActResNet(blocks_per_stage=(2, 2, 2, 2), **common)
    if model.backbone in NAMED_WRN:
        depth, widen = NAMED_WRN[model.backbone]
        return WideResNet(depth=depth, widen_factor=widen, dropout=model.dropout, **common)
    if model.backbone == "wide_resnet":
        return WideResNet(depth=model.depth, widen_factor=model.widen_factor,
                          dropout=model.dropout, **common)
    raise ConfigError(f"model.backbone: got {model.backbone!r}; allowed: {', '.join(BACKBONES)}.")
