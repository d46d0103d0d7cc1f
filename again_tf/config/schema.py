"""Typed, frozen configuration: one dataclass per concern, validated early.

Every error names the field, the allowed values and the fix, so the CLI can print it as is.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from again_tf.config.methods import method_entry, method_names, standalone_methods
from again_tf.errors import ConfigError

DATASETS = ("cifar10", "cifar100", "svhn_cropped", "mnist", "fashion_mnist")
DATA_SOURCES = ("auto", "folder", "tfds")
# Where the per-epoch validation comes from: a seeded split held out from the training data, or
# (explicitly, and marked in every report) the first test images.
VAL_SOURCES = ("holdout", "test")
BACKBONES = ("small_cnn", "resnet18", "preact_resnet18", "wide_resnet", "wrn34_10", "wrn28_10")
SITES = ("block", "features")
NORMS = ("linf", "l2")
ATTACK_INITS = ("uniform", "normal", "none")  # a random point of the ball, x + 0.001 N(0, 1), x
INITS = ("auto", *ATTACK_INITS)  # auto: the method's own
HFF_STYLES = ("shuffle", "clean")
HFF_PLACEMENTS = ("before_ase", "mask_only")  # what the ASE head reads: fused features, or unfused
MASK_SOURCES = ("label", "prediction", "soft")  # where ASE's training mask comes from
SMALL_CNN_BLOCK_SITES = ("series", "branch")  # the small CNN's block site: all later layers, or a branch
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")


# The usual L-inf budget per data set (pixel scale): the paper's 8/255 on the colour sets, 0.1 on
# Fashion-MNIST (the quickstart's), 0.3 on MNIST (Madry et al.).
DATASET_EPS = {"cifar10": 8 / 255, "cifar100": 8 / 255, "svhn_cropped": 8 / 255, "mnist": 0.3,
               "fashion_mnist": 0.1}


def default_eps(dataset: str) -> float:
    """The eps a model of ``dataset`` is evaluated at when its run does not say."""
    return DATASET_EPS.get(dataset, DATASET_EPS["cifar10"])


def default_step_size(eps: float, given: float | None = None) -> float:
    """``given``, or when it is None the evaluation PGD's default: eps / 4 (2/255 at 8/255, 0.025
    at 0.1)."""
    return eps / 4 if given is None else given


def _check(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{field_name}: {message}")


def _one_of(value, allowed, field_name: str) -> None:
    _check(value in allowed, field_name, f"got {value!r}; allowed: {', '.join(map(str, allowed))}.")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "cifar10"
    source: str = "auto"  # auto: the IDX folder for fashion_mnist when present, else tfds
    data_dir: str | None = None  # IDX folder (fashion_mnist) or tfds data_dir
    batch_size: int = 128  # global batch, split over replicas
    augment: bool = True  # the data set's standard augmentation (crop + flip on CIFAR/SVHN)
    train_examples: int | None = None  # first N training examples after the hold-out; None: all
    val_source: str = "holdout"  # holdout: training examples never trained on; test: test images
    val_examples: int | None = 1000  # validation size; None: the whole test split (val_source=test)
    split_seed: int = 0  # seeds the hold-out: every training seed of a grid shares the same split
    test_examples: int | None = None  # final evaluation subset; None: the whole test split

    def validate(self) -> None:
        _one_of(self.dataset, DATASETS, "data.dataset")
        _one_of(self.source, DATA_SOURCES, "data.source")
        _one_of(self.val_source, VAL_SOURCES, "data.val_source")
        _check(self.batch_size >= 1, "data.batch_size", f"must be >= 1, got {self.batch_size}.")
        _check(self.val_examples is not None or self.val_source == "test", "data.val_examples",
               "null (the whole split) needs data.val_source=test; give a size to hold out.")
        for name in ("train_examples", "val_examples", "test_examples"):
            value = getattr(self, name)
            _check(value is None or value >= 1, f"data.{name}", f"must be >= 1 or null, got {value}.")

    @property
    def validates_on_test(self) -> bool:
        """True when model selection (best_robust.keras, the drop warning) sees test images."""
        return self.val_source == "test"


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "resnet18"
    depth: int = 34  # wide_resnet only
    widen_factor: int = 10  # wide_resnet only
    dropout: float = 0.0  # wide_resnet only
    widths: tuple[int, ...] = (32, 64, 128)  # small_cnn only
    sites: tuple[str, ...] = SITES
    block_site_path: str = "series"  # small_cnn only: branch gives the last conv an unmasked shortcut
    sync_batchnorm: bool = False  # synchronise BN statistics over replicas

    def validate(self) -> None:
        _one_of(self.backbone, BACKBONES, "model.backbone")
        _one_of(self.block_site_path, SMALL_CNN_BLOCK_SITES, "model.block_site_path")
        for site in self.sites:
            _one_of(site, SITES, "model.sites")
        _check((self.depth - 4) % 6 == 0, "model.depth", f"must be 6n + 4 (28, 34, ...), got {self.depth}.")
        _check(self.widen_factor >= 1, "model.widen_factor", f"must be >= 1, got {self.widen_factor}.")
        _check(0.0 <= self.dropout < 1.0, "model.dropout", f"must be in [0, 1), got {self.dropout}.")


@dataclass(frozen=True)
class AgainConfig:
    ase: bool = True
    alpha: float = 0.6
    beta_aux: float = 2.0
    hff: bool = True
    hff_probability: float = 1.0
    hff_style: str = "shuffle"
    hff_concentration: float = 1.0
    hff_per_sample_gamma: bool = False
    hff_placement: str = "before_ase"  # mask_only: the ASE head reads the features before HFF
    attack_aux: bool = True  # training attack also maximises beta_aux * the aux heads' loss
    mask_source: str = "label"  # label (the paper), prediction or soft: see layers/ase.py
    mask_temperature: float = 1.0  # soft masks: W softmax(z_aux / T)
    paired_draws: bool = False  # passes on the same images (TRADES' clean and adversarial) share HFF and y'

    def validate(self) -> None:
        _check(0.0 <= self.alpha <= 1.0, "again.alpha", f"must be in [0, 1], got {self.alpha}.")
        _check(self.beta_aux >= 0.0, "again.beta_aux", f"must be >= 0, got {self.beta_aux}.")
        _check(0.0 <= self.hff_probability <= 1.0, "again.hff_probability",
               f"must be in [0, 1], got {self.hff_probability}.")
        _check(self.hff_concentration > 0.0, "again.hff_concentration",
               f"must be > 0, got {self.hff_concentration}.")
        _one_of(self.hff_style, HFF_STYLES, "again.hff_style")
        _one_of(self.hff_placement, HFF_PLACEMENTS, "again.hff_placement")
        _one_of(self.mask_source, MASK_SOURCES, "again.mask_source")
        _check(self.mask_temperature > 0.0, "again.mask_temperature",
               f"must be > 0, got {self.mask_temperature}.")

    @property
    def enabled(self) -> bool:
        return self.ase or self.hff


@dataclass(frozen=True)
class AttackConfig:
    """The attack that makes x_adv during training (and, with eval steps, during validation)."""

    norm: str = "linf"
    eps: float = DATASET_EPS["cifar10"]
    step_size: float = 2 / 255
    steps: int = 10
    init: str = "auto"  # auto: the method's own (uniform for PGD-AT/MART, normal for TRADES)

    def validate(self) -> None:
        _one_of(self.norm, NORMS, "attack.norm")
        _check(0.0 < self.eps <= 1.0, "attack.eps",
               f"must be in (0, 1] (pixel scale; 8/255 = 0.0314), got {self.eps}.")
        _check(self.step_size > 0.0, "attack.step_size", f"must be > 0, got {self.step_size}.")
        _check(self.steps >= 1, "attack.steps", f"must be >= 1, got {self.steps}.")
        _one_of(self.init, INITS, "attack.init")


@dataclass(frozen=True)
class ObjectiveConfig:
    method: str = "pgd_at"  # the base method
    awp: bool = False
    awp_gamma: float = 5e-3
    awp_warmup_epochs: int = 10
    trades_beta: float = 6.0
    mart_lambda: float = 6.0
    # FAT: the early-stop budget tau is the number of these epochs passed (0, then 1, 2, ...)
    fat_tau_milestones: tuple[int, ...] = (50, 90)
    fat_omega: float = 0.001  # std of FAT's Gaussian noise added to each attack step
    lbgat_beta: float = 0.0  # LBGAT's TRADES term weight (0: "LBGAT0", the CIFAR-10 setting)
    # LAS-AT: the strategy network's choices (eps and step as multiples of attack.eps)
    las_eps_scales: tuple[float, ...] = tuple(k / 8 for k in range(3, 16))
    las_step_scales: tuple[float, ...] = tuple(k / 8 for k in range(1, 6))
    las_iterations: tuple[int, ...] = tuple(range(3, 15))
    las_interval: int = 20  # optimizer steps between two strategy-network updates
    las_reward_weights: tuple[float, ...] = (1.0, 4.0, 2.0)  # hardness, PGD-10 acc., clean acc.
    las_confidence: float = 0.7  # label smoothing of the target's loss: the true class's share
    las_strategy_lr: float = 1e-4

    def validate(self) -> None:
        method_entry(self.method)
        _check(all(m >= 0 for m in self.fat_tau_milestones), "objective.fat_tau_milestones",
               f"must be epochs >= 0, got {self.fat_tau_milestones}.")
        _check(self.fat_omega >= 0.0, "objective.fat_omega", f"must be >= 0, got {self.fat_omega}.")
        _check(self.lbgat_beta >= 0.0, "objective.lbgat_beta", f"must be >= 0, got {self.lbgat_beta}.")
        for name in ("las_eps_scales", "las_step_scales", "las_iterations"):
            values = getattr(self, name)
            _check(len(values) > 0 and min(values) > 0, f"objective.{name}",
                   f"must be a non-empty list of positive values, got {values}.")
        _check(self.las_interval >= 1, "objective.las_interval", f"must be >= 1, got {self.las_interval}.")
        _check(len(self.las_reward_weights) == 3, "objective.las_reward_weights",
               f"must be 3 weights (hardness, robust, clean accuracy), got {self.las_reward_weights}.")
        _check(0.0 < self.las_confidence <= 1.0, "objective.las_confidence",
               f"must be in (0, 1], got {self.las_confidence}.")
        _check(self.awp_gamma > 0.0, "objective.awp_gamma", f"must be > 0, got {self.awp_gamma}.")
        _check(self.awp_warmup_epochs >= 0, "objective.awp_warmup_epochs",
               f"must be >= 0, got {self.awp_warmup_epochs}.")


@dataclass(frozen=True)
class OptimConfig:
    """SGD with coupled (PyTorch-style) L2 weight decay, as the paper's recipe."""

    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    epochs: int = 200
    lr_milestones: tuple[int, ...] = (100, 150)
    lr_factor: float = 0.1
    steps_per_epoch: int | None = None  # None: one pass over the training data

    def validate(self) -> None:
        _check(self.lr > 0.0, "optim.lr", f"must be > 0, got {self.lr}.")
        _check(0.0 <= self.momentum < 1.0, "optim.momentum", f"must be in [0, 1), got {self.momentum}.")
        _check(self.weight_decay >= 0.0, "optim.weight_decay", f"must be >= 0, got {self.weight_decay}.")
        _check(self.epochs >= 1, "optim.epochs", f"must be >= 1, got {self.epochs}.")
        _check(list(self.lr_milestones) == sorted(self.lr_milestones), "optim.lr_milestones",
               f"must be increasing epochs, got {list(self.lr_milestones)}.")
        _check(self.steps_per_epoch is None or self.steps_per_epoch >= 1, "optim.steps_per_epoch",
               f"must be >= 1 or null, got {self.steps_per_epoch}.")


@dataclass(frozen=True)
class EvalConfig:
    val_pgd_steps: int = 10  # PGD steps of the per-epoch robust validation
    test_pgd_steps: int = 20  # PGD steps of the final test evaluation
    step_size: float | None = None  # None: eps / 4 (2/255 at 8/255, 0.025 at 0.1)
    gap_examples: int = 0  # per split: fixed seeded train/test subsets for the gap curves; 0: off
    gap_every: int = 1  # epochs between two gap measurements
    image_every: int = 0  # epochs between TensorBoard images of adversarial examples; 0: off
    span_every: int = 0  # epochs between attribution-span scalars (Integrated Gradients); 0: off
    monitor_examples: int = 16  # fixed test images for the images and the span

    def validate(self) -> None:
        for name in ("image_every", "span_every"):
            value = getattr(self, name)
            _check(value >= 0, f"eval.{name}", f"must be >= 0 (0: off), got {value}.")
        _check(self.monitor_examples >= 1, "eval.monitor_examples",
               f"must be >= 1, got {self.monitor_examples}.")
        _check(self.gap_examples >= 0, "eval.gap_examples", f"must be >= 0, got {self.gap_examples}.")
        _check(self.gap_every >= 1, "eval.gap_every", f"must be >= 1, got {self.gap_every}.")
        _check(self.val_pgd_steps >= 1, "eval.val_pgd_steps", f"must be >= 1, got {self.val_pgd_steps}.")
        _check(self.test_pgd_steps >= 1, "eval.test_pgd_steps", f"must be >= 1, got {self.test_pgd_steps}.")
        _check(self.step_size is None or self.step_size > 0, "eval.step_size",
               f"must be > 0 or null, got {self.step_size}.")


@dataclass(frozen=True)
class RuntimeConfig:
    """How the run executes; none of it changes the science (except float precision)."""

    strategy: str = "auto"  # auto: multi_worker if TF_CONFIG names a cluster, mirrored if > 1 GPU
    deterministic: bool = False  # tf.config.experimental.enable_op_determinism
    min_free_disk_mb: int = 200  # refuse to start with less free space in output_dir
    checkpoint_every: int = 0  # steps between resumable training states (0: epoch ends only)
    mixed_precision: bool = False  # mixed_float16 on GPU, mixed_bfloat16 on CPU; logits in float32
    jit_compile: bool = False  # XLA for the train/test steps

    def validate(self) -> None:
        _one_of(self.strategy, STRATEGIES, "runtime.strategy")
        _check(self.checkpoint_every >= 0, "runtime.checkpoint_every",
               f"must be >= 0 (0: epoch ends only), got {self.checkpoint_every}.")
        _check(self.min_free_disk_mb >= 0, "runtime.min_free_disk_mb",
               f"must be >= 0, got {self.min_free_disk_mb}.")


@dataclass(frozen=True)
class RunConfig:
    preset: str = "paper-resnet18"
    seed: int = 0
    output_dir: str = "runs"
    name: str | None = None  # run folder name; None: <preset>-<method>-<time>
    verbose: int = 1  # Keras progress bar: 0 silent, 1 bar, 2 one line per epoch
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    again: AgainConfig = field(default_factory=AgainConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def validate(self) -> RunConfig:
        for section in SECTIONS:
            getattr(self, section).validate()
        _check(self.verbose in (0, 1, 2), "verbose", f"got {self.verbose}; allowed: 0, 1, 2.")
        if self.objective.method in standalone_methods():
            _check(not (self.again.enabled or self.objective.awp), "objective.method",
                   f"{self.objective.method} does not combine with AGAIN, CAS or AWP; set again.ase, "
                   f"again.hff and objective.awp to false.")
        return self

    @property
    def method(self) -> str:
        """The --method name this config is, e.g. ``again_awp_trades``."""
        a = self.again
        sites = "cas_" if a.ase and not a.hff and a.alpha == 1.0 else "again_" if a.enabled else ""
        return sites + ("awp_" if self.objective.awp else "") + self.objective.method

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


SECTIONS = ("data", "model", "again", "attack", "objective", "optim", "eval", "runtime")


def parse_method(method: str) -> tuple[str, bool, str]:
    """``again_awp_trades`` -> ``("trades", awp=True, sites="again")``; ``sites`` is ``"again"``
    (ASE and HFF), ``"cas"`` (ASE with alpha 1, no HFF) or ``""``."""
    _one_of(method, method_names(), "method")
    sites = next((p for p in ("again", "cas") if method == p or method.startswith(p + "_")), "")
    rest = method.removeprefix(sites).removeprefix("_")
    awp = rest.startswith("awp")
    base = rest.removeprefix("awp").removeprefix("_") or "pgd_at"
    return base, awp, sites


def with_method(config: RunConfig, method: str) -> RunConfig:
    """Sets the base method, AWP and the ASE/HFF sites from a --method name."""
    base, awp, sites = parse_method(method)
    again = dataclasses.replace(config.again, ase=bool(sites), hff=sites == "again")
    if sites == "cas":
        again = dataclasses.replace(again, alpha=1.0)
    elif sites == "again" and again.alpha == 1.0:  # alpha 1 is CAS: back to AGAIN's default
        again = dataclasses.replace(again, alpha=AgainConfig.alpha)
    return dataclasses.replace(
        config, objective=dataclasses.replace(config.objective, method=base, awp=awp), again=again)
