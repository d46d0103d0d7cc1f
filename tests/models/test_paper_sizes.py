"""The paper presets at their real size: parameter counts derived from the reference PyTorch
definitions, and one real training step of each preset's full-size model on CPU.

The references, counted as PyTorch's ``sum(p.numel() for p in model.parameters())`` counts them
(conv and linear weights, linear biases, BN weight + bias; BN running statistics are buffers):

* ``resnet18``: the CIFAR ResNet-18 of Madry-lab/robustness and kuangliu/pytorch-cifar (3x3 stem
  conv + BN, no max-pool, [2, 2, 2, 2] post-activation BasicBlocks of widths 64-512, 1x1 conv + BN
  shortcuts where the shape changes, linear 512 -> K).
* ``preact_resnet18``: the PreActResNet-18 of Rice et al., "Overfitting in adversarially robust
  deep learning" (locuslab/robust_overfitting, preactresnet.py): BN before each conv, 1x1 conv
  shortcuts without BN, and a final BN before the linear layer. That final BN makes it 11,172,170;
  the 11,171,146 sometimes quoted is kuangliu's preact_resnet.py, which has no final BN
  (2 * 512 fewer).
* ``wrn28_10`` / ``wrn34_10``: wideresnet.py of TRADES (and AWP, which copies it): 3x3 stem conv,
  3 stages of (depth - 4) / 6 pre-activation blocks of widths 160/320/640, 1x1 conv shortcuts
  (no BN) where the width changes, no conv biases, final BN + linear. TRADES' module also builds
  a ``sub_block1`` that its forward never calls; PyTorch counts it (48,262,586 for WRN-34-10), the
  network that runs has 46,160,474, which is what we compare with.

Where our Keras model differs from these:

* the mean/std normalisation is a ``keras.layers.Normalization`` inside the model (images enter in
  [0, 1]); it holds no weights (mean and variance are constants), so it adds 0 parameters;
* AGAIN's sites (``model.sites``: the residual-branch input of the last block and the final
  features) add one ASE head each, ``W_ase: [C, K]`` + bias = ``(C + 1) * K`` trainable
  parameters (layers/ase.py; spec section 1); HFF has no parameters. CAS uses the same sites;
* LBGAT's guide (a plain copy of the architecture) and LAS-AT's strategy network (the plain
  backbone, pooled, with one linear head per attack parameter) live inside the model, so that
  checkpoints carry them; they are counted apart.
* Keras BN also holds moving mean/variance as non-trainable weights: we compare trainable
  weights, which are PyTorch's parameters (BN gamma + beta = weight + bias).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from again_tf.config import PRESETS, ModelConfig, get_preset
from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model
from again_tf.layers.hff import HFF
from again_tf.layers.site import AgainSite

PAPER_PRESETS = tuple(name for name in PRESETS if name.startswith("paper-"))
CIFAR_TRAIN_IMAGES = 50_000


def steps_per_epoch(config) -> int:
    """As a run computes it: the training split without the held-out images, whole batches."""
    return (CIFAR_TRAIN_IMAGES - config.data.val_examples) // config.data.batch_size


# --- the reference architectures, as arithmetic ------------------------------------------------


def conv(k: int, cin: int, cout: int) -> int:
    """A bias-free k x k convolution (every conv of the references has ``bias=False``)."""
    return k * k * cin * cout


def bn(c: int) -> int:
    """BatchNorm2d's weight and bias (its running statistics are buffers, not parameters)."""
    return 2 * c


def linear(cin: int, cout: int) -> int:
    return (cin + 1) * cout


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Enough of a residual network to count its parameters: the stem's width, each stage's
    width, blocks and first stride, and the block kind (``post``: ResNet's conv-BN BasicBlock with
    conv + BN projections; ``pre``: BN-conv pre-activation blocks with bare 1x1 conv projections
    and a final BN)."""

    stem: int
    widths: tuple[int, ...]
    blocks: tuple[int, ...]
    strides: tuple[int, ...]
    kind: str

    def block_inputs(self) -> list[tuple[int, int, int]]:
        """``(in channels, out channels, stride)`` of every block in forward order."""
        found, cin = [], self.stem
        for width, count, stride in zip(self.widths, self.blocks, self.strides):
            for index in range(count):
                found.append((cin, width, stride if index == 0 else 1))
                cin = width
        return found

    @property
    def features(self) -> int:
        return self.widths[-1]


def architecture(backbone: str) -> Architecture:
    """The reference definition of each backbone our ModelConfig names."""
    if backbone in ("resnet18", "preact_resnet18"):
        kind = "post" if backbone == "resnet18" else "pre"
        return Architecture(64, (64, 128, 256, 512), (2, 2, 2, 2), (1, 2, 2, 2), kind)
    depth, widen = {"wrn28_10": (28, 10), "wrn34_10": (34, 10)}[backbone]
    n = (depth - 4) // 6
    return Architecture(16, (16 * widen, 32 * widen, 64 * widen), (n, n, n), (1, 2, 2), "pre")


def block_parameters(kind: str, cin: int, cout: int, stride: int) -> int:
    """One residual block; a projection shortcut where the stride or the width changes."""
    projection = stride != 1 or cin != cout
    if kind == "post":  # conv-BN-ReLU-conv-BN, shortcut 1x1 conv + BN
        return conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + bn(cout) + \
            (conv(1, cin, cout) + bn(cout) if projection else 0)
    # BN-ReLU-conv-BN-ReLU-conv, shortcut a bare 1x1 conv
    return bn(cin) + conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + \
        (conv(1, cin, cout) if projection else 0)


def body_parameters(arch: Architecture) -> int:
    """Everything but the final linear layer: stem (conv, + BN in ResNet), blocks, and the final
    BN of a pre-activation net."""
    stem = conv(3, 3, arch.stem) + (bn(arch.stem) if arch.kind == "post" else 0)
    blocks = sum(block_parameters(arch.kind, *shape) for shape in arch.block_inputs())
    return stem + blocks + (bn(arch.features) if arch.kind == "pre" else 0)


def reference_parameters(backbone: str, classes: int = 10) -> int:
    """PyTorch's parameter count of the reference network with a linear head of ``classes``."""
    arch = architecture(backbone)
    return body_parameters(arch) + linear(arch.features, classes)


def site_channels(backbone: str, site: str) -> int:
    """Channels of the feature map an AGAIN site sits on: the last block's input (its residual
    branch's input) or the final features."""
    arch = architecture(backbone)
    return arch.block_inputs()[-1][0] if site == "block" else arch.features


def ase_parameters(backbone: str, sites: tuple[str, ...], classes: int) -> int:
    """One linear ASE head ``W_ase: [C, K]`` + bias per site (layers/ase.py)."""
    return sum(linear(site_channels(backbone, site), classes) for site in sites)


# --- our models' counts --------------------------------------------------------------------------


def count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def site_weights(model) -> list:
    sites = [layer for layer in model.backbone._flatten_layers() if isinstance(layer, AgainSite)]
    return [w for site in sites for w in site.trainable_weights]


def split_counts(model) -> dict[str, int]:
    """Trainable parameters of the classifier (what the reference counts), of its ASE heads, and
    of each network a method keeps inside the model."""
    networks = {name: count(net.trainable_weights) for name, net in model.networks.items()}
    aside = {id(w) for net in model.networks.values() for w in net.trainable_weights}
    aside |= {id(w) for w in site_weights(model)}
    own = [w for w in model.trainable_weights if id(w) not in aside]
    return {"classifier": count(own), "ase": count(site_weights(model)), **networks}


def expected_counts(config, classes: int) -> dict[str, int]:
    """What the references and the spec say a preset's model holds."""
    backbone, o = config.model.backbone, config.objective
    sites = tuple(config.model.sites) if config.again.ase else ()
    expected = {"classifier": reference_parameters(backbone, classes),
                "ase": ase_parameters(backbone, sites, classes)}
    if o.method == "lbgat":
        expected["guide"] = reference_parameters(backbone, classes)
    if o.method == "las_at":
        heads = (len(o.las_eps_scales), len(o.las_step_scales), len(o.las_iterations))
        arch = architecture(backbone)
        expected["strategy"] = body_parameters(arch) + sum(linear(arch.features, h) for h in heads)
    return expected


def test_reference_arithmetic_gives_the_published_counts():
    """The derivation reproduces the published counts, and says where a quoted one differs."""
    assert reference_parameters("resnet18") == 11_173_962
    assert reference_parameters("wrn28_10") == 36_479_194
    assert reference_parameters("wrn34_10") == 46_160_474
    assert reference_parameters("preact_resnet18") == 11_172_170  # Rice et al.: final BN included
    assert reference_parameters("preact_resnet18") - bn(512) == 11_171_146  # kuangliu's: no final BN
    # TRADES' WideResNet also builds sub_block1 (5 blocks 16 -> 160, never called in forward).
    unused_sub_block1 = sum(block_parameters("pre", 16 if i == 0 else 160, 160, 1) for i in range(5))
    assert reference_parameters("wrn34_10") + unused_sub_block1 == 48_262_586
    # ASE: two heads of (C + 1) * K on C = 512 (ResNet-18) or 640 (WRN-34-10) channels.
    assert ase_parameters("resnet18", ("block", "features"), 10) == 2 * 513 * 10
    assert ase_parameters("wrn34_10", ("block", "features"), 10) == 2 * 641 * 10


def _preset_marks(name: str) -> list:
    """Building a WRN takes 1.5 s here on a quiet machine, up to 10 s beside other jobs."""
    return [pytest.mark.slow] if name == "paper-wrn34" else []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_preset_marks(n)) for n in PAPER_PRESETS])
def test_paper_preset_model_has_the_reference_size(name):
    config = get_preset(name)
    info = dataset_info(config.data.dataset)
    model = build_model(config, info)
    assert split_counts(model) == expected_counts(config, info.num_classes)
    assert count(model.normalize.weights) == 0
    assert all(count(layer.weights) == 0 for layer in model._flatten_layers() if isinstance(layer, HFF))


@pytest.mark.parametrize("backbone", ["preact_resnet18", pytest.param("wrn28_10", marks=pytest.mark.slow)])
def test_other_cifar_backbones_have_the_reference_size(backbone):
    """AGAIN-PGD-AT (paper-resnet18's method) on the other CIFAR backbones."""
    config = dataclasses.replace(get_preset("paper-resnet18"), model=ModelConfig(backbone=backbone))
    model = build_model(config, dataset_info("cifar10"))
    assert split_counts(model) == expected_counts(config, 10)


def test_class_count_is_not_hard_coded():
    """CIFAR-100: the linear head and both ASE heads grow with K = 100; the body does not."""
    config = get_preset("paper-resnet18")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, dataset="cifar100"))
    model = build_model(config, dataset_info("cifar100"))
    assert split_counts(model) == {"classifier": reference_parameters("resnet18", 100),
                                   "ase": 2 * 513 * 100}


# --- one full-size training step per paper preset ------------------------------------------------

# Small batches keep the slow suite's share small: the step's cost is mostly tracing here. The
# architecture, the method, its attack (steps, eps, step size) and its optimizer are the preset's.
STEP_BATCH = {"paper-wrn34": 2}
DEFAULT_STEP_BATCH = 4


def _first_step(config) -> int:
    """The optimizer step to train at: AWP's first perturbed step (after its warm-up, where the
    perturbation is zero), else step 0 (LAS-AT's strategy network updates at step 0)."""
    return config.objective.awp_warmup_epochs * steps_per_epoch(config) if config.objective.awp else 0


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_one_full_size_training_step(name):
    """The preset's real model, method and attack, one step of ``train_on_batch`` on random
    CIFAR-shaped images: the loss and every logged value are finite, and every trainable weight
    moved (the model's, its ASE heads', LBGAT's guide's, LAS-AT's strategy network's)."""
    config = get_preset(name)
    info = dataset_info(config.data.dataset)
    model = compile_model(build_model(config, info), config, steps_per_epoch=steps_per_epoch(config))
    batch = STEP_BATCH.get(name, DEFAULT_STEP_BATCH)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch, *info.image_shape)).astype(np.float32)
    y = rng.integers(0, info.num_classes, batch).astype(np.int32)
    model.optimizer.iterations.assign(_first_step(config))
    before = {id(v): v.numpy().copy() for v in model.trainable_variables}
    start = time.perf_counter()
    logs = model.train_on_batch(x, y, return_dict=True)
    print(f"{name}: one step at batch {batch} (tracing included) {time.perf_counter() - start:.1f} s")
    assert all(np.isfinite(float(v)) for v in logs.values()), logs
    assert float(logs["loss"]) > 0.0
    assert int(model.optimizer.iterations) == _first_step(config) + 1  # AWP: a perturbed step
    unmoved = [v.path for v in model.trainable_variables if np.array_equal(before[id(v)], v.numpy())]
    assert unmoved == []
    if name == "paper-las-at":
        assert float(logs["strategy_reward"]) > 0.0  # step 0 is a strategy update (every 20 steps)
