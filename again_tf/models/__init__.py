"""Backbones (features + AGAIN sites) and what a forward pass returns."""

from again_tf.models.backbone import SITE_POSITIONS, Backbone
from again_tf.models.factory import build_backbone
from again_tf.models.outputs import ModelOutputs, main_logits
from again_tf.models.resnet import ResNet
from again_tf.models.small_cnn import SmallCNN
from again_tf.models.wide_resnet import PreActResNet, WideResNet

__all__ = [
    "SITE_POSITIONS", "Backbone", "ModelOutputs", "PreActResNet", "ResNet", "SmallCNN",
    "WideResNet", "build_backbone", "main_logits",
]
