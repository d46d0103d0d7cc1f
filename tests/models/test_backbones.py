import numpy as np
import pytest
import tensorflow as tf

from again_tf.config import AgainConfig, ModelConfig
from again_tf.layers.hff import HFF
from again_tf.layers.site import AgainSite
from again_tf.models import PreActResNet, ResNet, SmallCNN, WideResNet, build_backbone
from tests.test_case import check_config_round_trip

AGAIN_ON, AGAIN_OFF = AgainConfig(), AgainConfig(ase=False, hff=False)


def _sites(backbone):
    return [layer for layer in backbone._flatten_layers() if isinstance(layer, AgainSite)]


@pytest.mark.parametrize("name,shape", [("small_cnn", (28, 28, 1)), ("resnet18", (32, 32, 3)),
                                        ("preact_resnet18", (32, 32, 3))])
def test_outputs_and_one_aux_head_per_site(name, shape):
    backbone = build_backbone(ModelConfig(backbone=name), AGAIN_ON, 7)
    x, y = tf.random.uniform((4, *shape)), tf.constant([0, 1, 2, 3])
    features, aux = backbone(x, labels=y, training=True)
    assert features.shape[0] == 4 and len(aux) == 2 and all(a.shape == (4, 7) for a in aux)
    _, aux_eval = backbone(x, training=False)
    assert len(aux_eval) == 2
    hffs = [layer for layer in backbone._flatten_layers() if isinstance(layer, HFF)]
    assert len(hffs) == 1  # HFF only on the first site


def test_again_off_is_the_plain_network():
    backbone = build_backbone(ModelConfig(backbone="small_cnn"), AGAIN_OFF, 10)
    _, aux = backbone(tf.zeros((2, 28, 28, 1)), training=False)
    assert aux == [] and _sites(backbone) == []


def test_sites_are_configurable():
    backbone = build_backbone(ModelConfig(backbone="resnet18", sites=("features",)), AGAIN_ON, 10)
    _, aux = backbone(tf.zeros((2, 32, 32, 3)), training=False)
    assert len(aux) == 1 and [s.name for s in _sites(backbone)] == ["site_features"]


def _trainable(layer):
    """PyTorch's parameter count: trainable weights only (BN moving statistics are buffers)."""
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def test_resnet18_has_the_standard_parameter_count():
    backbone = build_backbone(ModelConfig(backbone="resnet18"), AGAIN_OFF, 10)
    backbone(tf.zeros((1, 32, 32, 3)))
    # 11,173,962 for CIFAR ResNet-18 with its 512 x 10 classifier, which lives in AgainModel.
    assert _trainable(backbone) == 11_173_962 - 5130


@pytest.mark.slow
def test_wrn34_10_has_the_standard_parameter_count():
    backbone = build_backbone(ModelConfig(backbone="wrn34_10"), AGAIN_OFF, 10)
    backbone(tf.zeros((1, 32, 32, 3)))
    assert _trainable(backbone) == 46_160_474 - 6410  # classifier 640 x 10 excluded


def test_wide_resnet_depth_rule():
    with pytest.raises(ValueError, match="6n \\+ 4"):
        WideResNet(10, depth=30)


@pytest.mark.parametrize("cls,kwargs", [(SmallCNN, {"widths": (8, 8, 16)}),
                                        (ResNet, {"blocks_per_stage": (1, 1), "base_width": 8}),
                                        (PreActResNet, {"blocks_per_stage": (1, 1), "base_width": 8}),
                                        (WideResNet, {"depth": 10, "widen_factor": 1})])
def test_config_round_trip_rebuilds_the_same_function(cls, kwargs):
    backbone = cls(5, again={"use_ase": True, "use_hff": True, "alpha": 0.7}, **kwargs)
    x = tf.random.uniform((2, 16, 16, 3))
    out, _ = backbone(x, training=False)
    clone = check_config_round_trip(backbone)
    clone(x, training=False)
    clone.set_weights(backbone.get_weights())
    np.testing.assert_allclose(clone(x, training=False)[0].numpy(), out.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("path,depends_on_input", [("series", False), ("branch", True)])
def test_small_cnn_branch_site_keeps_an_unmasked_path(path, depends_on_input):
    """A zero block mask: in series nothing of the input gets past it; as a branch the shortcut
    still carries the unmasked features."""
    config = ModelConfig(backbone="small_cnn", widths=(4, 4, 4), sites=("block",), block_site_path=path)
    backbone = build_backbone(config, AgainConfig(hff=False), 3)
    x = tf.random.uniform((2, 28, 28, 1))
    backbone(x, training=False)
    site = _sites(backbone)[0]
    site.ase.kernel.assign(tf.zeros_like(site.ase.kernel))
    features, _ = backbone(x, training=False)
    varies = not np.allclose(features[0].numpy(), features[1].numpy())
    assert varies == depends_on_input
    assert check_config_round_trip(backbone).block_site_path == path
