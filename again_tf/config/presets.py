"""Named presets: the paper's recipes and a quickstart that runs on 2 CPU cores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from again_tf.config.schema import (
    AgainConfig,
    AttackConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
)
from again_tf.errors import ConfigError

PRESETS: dict[str, Callable[[], RunConfig]] = {}
DEFAULT_PRESET = "paper-resnet18"


def register(name: str):
    def wrap(fn: Callable[[], RunConfig]):
        PRESETS[name] = fn
        return fn

    return wrap


@register("paper-resnet18")
def paper_resnet18() -> RunConfig:
    """Spec section 4: AGAIN-PGD-AT, ResNet-18, CIFAR-10, SGD 0.1, 200 epochs, decay at 100/150."""
    return RunConfig(preset="paper-resnet18", model=ModelConfig(backbone="resnet18"))


@register("paper-wrn34")
def paper_wrn34() -> RunConfig:
    """The authors' release: AGAIN + AWP (over PGD-AT) on WRN-34-10, CIFAR-10."""
    return RunConfig(
        preset="paper-wrn34",
        model=ModelConfig(backbone="wrn34_10"),
        objective=ObjectiveConfig(method="pgd_at", awp=True),
    )


@register("quickstart")
def quickstart() -> RunConfig:
    """AGAIN-PGD-AT on Fashion-MNIST from disk with the small CNN, eps 0.1: minutes on a CPU."""
    return RunConfig(
        preset="quickstart",
        data=DataConfig(dataset="fashion_mnist", batch_size=128, val_examples=1000),
        model=ModelConfig(backbone="small_cnn", widths=(16, 32, 64)),
        again=AgainConfig(),
        attack=AttackConfig(eps=0.1, step_size=0.06, steps=2),
        objective=ObjectiveConfig(method="pgd_at"),
        optim=OptimConfig(lr=0.1, epochs=3, steps_per_epoch=200, lr_milestones=(2,),
                          weight_decay=5e-4),
        eval=EvalConfig(val_pgd_steps=10, test_pgd_steps=20, step_size=0.01),
    )


def get_preset(name: str) -> RunConfig:
    if name not in PRESETS:
        raise ConfigError(f"preset: got {name!r}; allowed: {', '.join(sorted(PRESETS))}.")
    return replace(PRESETS[name](), preset=name)
