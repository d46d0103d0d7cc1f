"""Attack names of the evaluation table (``clean,pgd20,cw``) and the settings they share."""

from __future__ import annotations

import re
from dataclasses import dataclass

from again_tf.config.schema import NORMS, default_step_size
from again_tf.errors import ConfigError

DEFAULT_ATTACKS = ("clean", "pgd10", "pgd20", "pgd50", "pgd100", "cw", "aa")  # the seed's columns
NAMED = ("clean", "fgsm", "pgd10", "pgd20", "pgd50", "pgd100", "cw", "aa", "aa_rand", "transfer")
CW_STEPS = 30  # the seed's C&W-inf: 30 PGD steps on the CW margin
TRANSFER_STEPS = 50  # PGD steps of each attack past the argmax ASE masks
PAST_MASKS = "transfer"  # added to the default table of models with ASE heads
_PATTERN = re.compile(r"^(clean|fgsm|pgd(\d+)|cw(\d+)?|aa|aa_rand|transfer(\d+)?)$")
_ADAPTIVE = ("both", "main")


@dataclass(frozen=True)
class AttackSpec:
    """One column: ``kind`` is clean, fgsm, pgd, cw, aa or transfer; ``steps`` for pgd/cw/transfer."""

    name: str
    kind: str
    steps: int = 0
    version: str = "standard"  # AutoAttack's version

    @property
    def label(self) -> str:
        return {"clean": "Clean", "fgsm": "FGSM", "cw": "C&W", "aa": "AA", "transfer": "Past masks"}.get(
            self.kind, f"PGD-{self.steps}") + (" (rand)" if self.version == "rand" else "")

    @property
    def is_gradient_attack(self) -> bool:
        """Attacks that run our PGD loop (and so have a main-head and an adaptive variant)."""
        return self.kind in ("fgsm", "pgd", "cw")


def parse_attack(name: str) -> AttackSpec:
    match = _PATTERN.match(name.strip().lower())
    if not match:
        raise ConfigError(f"attacks: unknown attack {name!r}; allowed: {', '.join(NAMED)}, "
                          f"pgdK, cwK or transferK for K steps (e.g. pgd200, cw50).")
    name = match.group(0)
    if match.group(2):
        steps = int(match.group(2))
        if steps < 1:
            raise ConfigError(f"attacks: {name} has {steps} steps; use pgdK with K >= 1.")
        return AttackSpec(name, "pgd", steps)
    if name.startswith("cw"):
        steps = int(match.group(3) or CW_STEPS)
        if steps < 1:
            raise ConfigError(f"attacks: {name} has {steps} steps; use cwK with K >= 1.")
        return AttackSpec(name, "cw", steps)
    if name.startswith("transfer"):
        steps = int(match.group(4) or TRANSFER_STEPS)
        if steps < 1:
            raise ConfigError(f"attacks: {name} has {steps} steps; use transferK with K >= 1.")
        return AttackSpec(name, "transfer", steps)
    if name.startswith("aa"):
        return AttackSpec(name, "aa", version="rand" if name == "aa_rand" else "standard")
    return AttackSpec(name, name, 1 if name == "fgsm" else 0)


def parse_attacks(names) -> tuple[AttackSpec, ...]:
    """``"clean,pgd20,cw"`` or a sequence of names -> specs, in the given order, no duplicates."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"attacks: empty list; allowed: {', '.join(NAMED)} (comma separated).")
    specs, seen = [], set()
    for name in names:
        spec = parse_attack(name)
        if spec.name not in seen:
            seen.add(spec.name)
            specs.append(spec)
    return tuple(specs)


@dataclass(frozen=True)
class EvalSettings:
    """Shared by every column: the threat model, PGD's step, and how adaptive the attacks are.

    ``adaptive="both"`` runs each gradient attack on the main head (through the inference-mode
    ASE masks) and then, on the examples that survive, through the auxiliary heads too (the
    authors' PGD); an example counts as robust only if it survives both. ``"main"`` skips the
    second pass (for models without auxiliary heads it makes no difference).
    """

    eps: float
    step_size: float | None = None  # None: eps / 4 (2/255 at 8/255)
    norm: str = "linf"
    restarts: int = 1
    kappa: float = 0.0  # C&W margin cap
    adaptive: str = "both"
    seed: int = 0
    batch_size: int = 256

    def __post_init__(self):
        if not 0.0 < self.eps <= 1.0:
            raise ConfigError(f"eps: must be in (0, 1] (pixel scale; 8/255 = 0.0314), got {self.eps}.")
        if self.step_size is not None and self.step_size <= 0:
            raise ConfigError(f"step_size: must be > 0, got {self.step_size}.")
        if self.norm not in NORMS:
            raise ConfigError(f"norm: got {self.norm!r}; allowed: {', '.join(NORMS)}.")
        if self.restarts < 1:
            raise ConfigError(f"restarts: must be >= 1, got {self.restarts}.")
        if self.adaptive not in _ADAPTIVE:
            raise ConfigError(f"adaptive: got {self.adaptive!r}; allowed: {', '.join(_ADAPTIVE)}.")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size: must be >= 1, got {self.batch_size}.")

    @property
    def step(self) -> float:
        return default_step_size(self.eps, self.step_size)
