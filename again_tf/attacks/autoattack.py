"""AutoAttack (Croce & Hein, ICML 2020): its components in turn, each only on the examples the
earlier ones left robust, as the reference's ``run_standard_evaluation`` does.

Standard version: APGD-CE, APGD-T (targeted DLR, 9 targets), FAB-T (9 targets), Square (5000
queries), one restart each, 100 iterations. "rand" version, for models with randomness: APGD-CE
and APGD-DLR with the gradient averaged over 20 draws (EOT).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from again_tf.attacks.apgd import apgd, apgd_targeted
from again_tf.attacks.fab import fab_targeted
from again_tf.attacks.per_example import as_labels, predict
from again_tf.attacks.square import square
from again_tf.attacks.threat import NORMS
from again_tf.models.outputs import main_logits

VERSIONS = {"standard": ("apgd-ce", "apgd-t", "fab-t", "square"), "rand": ("apgd-ce", "apgd-dlr")}
COMPONENTS = ("apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square")
CLEAN = "clean"  # broken_by of an example misclassified without attack
TARGET_CLASSES = 9
RAND_EOT_ITER = 20


@dataclass
class AutoAttackResult:
    """``broken_by[i]``: "clean" if example i is misclassified unattacked, else the first
    component that broke it, else "" (robust). ``robust_accuracy``: "clean" then each component
    run, in order, the accuracy once it has run (the last is AutoAttack's robust accuracy)."""

    x_adv: tf.Tensor
    broken_by: np.ndarray
    robust_accuracy: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def robust(self) -> np.ndarray:
        return self.broken_by == ""


def _components(eps: float, norm: str, version: str, seed: int, n_classes: int, ce_loss) -> dict:
    """Each component as ``(model_fn, x, y) -> x_adv`` with the reference's settings."""
    eot = RAND_EOT_ITER if version == "rand" else 1
    targets = min(TARGET_CLASSES, n_classes - 1)
    common = {"eps": eps, "norm": norm, "seed": seed}
    return {
        "apgd-ce": lambda f, x, y: apgd(f, x, y, loss=ce_loss, eot_iter=eot, **common),
        "apgd-dlr": lambda f, x, y: apgd(f, x, y, loss="dlr", eot_iter=eot, **common),
        "apgd-t": lambda f, x, y: apgd_targeted(f, x, y, n_target_classes=targets, **common),
        "fab-t": lambda f, x, y: fab_targeted(f, x, y, n_target_classes=targets, **common),
        "square": lambda f, x, y: square(f, x, y, **common),
    }


def _check(attacks: Sequence[str], version: str, eps: float, norm: str, n_classes: int) -> None:
    if version not in VERSIONS:
        raise ValueError(f"Unknown AutoAttack version {version!r}; allowed: {sorted(VERSIONS)}.")
    unknown = [a for a in attacks if a not in COMPONENTS]
    if unknown:
        raise ValueError(f"Unknown AutoAttack components {unknown}; allowed: {list(COMPONENTS)}.")
    if eps < 0:
        raise ValueError(f"AutoAttack eps must be >= 0, got {eps}.")
    if norm not in NORMS or (norm != "linf" and {"fab-t", "square"} & set(attacks)):
        raise ValueError(f"AutoAttack norm {norm!r}: APGD supports {list(NORMS)}, FAB-T and Square 'linf'.")
    needs = {"apgd-dlr": 3, "apgd-t": 4, "fab-t": 2}
    short = [a for a in attacks if n_classes < needs.get(a, 2)]
    if short:
        raise ValueError(f"{short} need more classes than the model's {n_classes} (DLR: 3, targeted DLR: 4).")


def _looks_randomized(model_fn: Callable, x: tf.Tensor) -> bool:
    """Two forward passes that differ: the reference's hint to use the "rand" version."""
    first, second = main_logits(model_fn(x)), main_logits(model_fn(x))
    return bool(tf.reduce_max(tf.abs(first - second)) > 1e-4 * (1.0 + tf.reduce_max(tf.abs(first))))


def _predict_batched(model_fn: Callable, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([predict(model_fn, tf.constant(x[i:i + batch_size])).numpy()
                           for i in range(0, len(x), batch_size)] or [np.zeros(0, np.int32)])


def _run_component(attack, model_fn, x, y, x_adv, broken_by, name, batch_size) -> None:
    """``attack`` on the still-robust examples, batch by batch; the examples its points
    misclassify take those points and are marked broken by ``name`` (in place)."""
    index = np.flatnonzero(broken_by == "")
    for start in range(0, len(index), batch_size):
        chunk = index[start:start + batch_size]
        adv = attack(model_fn, tf.constant(x[chunk]), tf.constant(y[chunk]))
        fooled = predict(model_fn, adv).numpy() != y[chunk]
        x_adv[chunk[fooled]] = adv.numpy()[fooled]
        broken_by[chunk[fooled]] = name


def autoattack(
    model_fn: Callable,
    x,
    y,
    *,
    eps: float,
    norm: str = "linf",
    version: str = "standard",
    seed: int = 0,
    attacks: Sequence[str] | None = None,
    batch_size: int | None = None,
    ce_loss: str | Callable = "ce",
    log: Callable[[str], None] | None = None,
) -> AutoAttackResult:
    """Runs ``attacks`` (default: the version's components) in order, each on the examples still
    robust, in batches of ``batch_size`` (default: all at once); every component uses ``seed``.

    ``ce_loss`` is APGD-CE's loss: "ce" or a callable ``loss(outputs, labels)`` (an adaptive loss
    through auxiliary heads). ``log`` receives one line per component. FAB-T and Square are
    L-inf only; APGD supports "l2" too.
    """
    x = np.asarray(x, np.float32)
    y = as_labels(y).numpy()
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"AutoAttack needs as many labels as images (at least one); got {len(x)}, {len(y)}.")
    attacks = tuple(VERSIONS.get(version, ()) if attacks is None else attacks)
    n_classes = int(main_logits(model_fn(tf.constant(x[:1]))).shape[-1])
    _check(attacks, version, eps, norm, n_classes)
    batch_size = batch_size or len(x)
    if version != "rand" and _looks_randomized(model_fn, tf.constant(x[:min(batch_size, 250)])):
        warnings.warn("The model's outputs change between calls: use AutoAttack's version='rand'.",
                      stacklevel=2)
    log = log or (lambda _line: None)
    broken_by = np.where(_predict_batched(model_fn, x, batch_size) == y, "", CLEAN).astype(object)
    accuracy, seconds = {CLEAN: float(np.mean(broken_by == ""))}, {}
    log(f"AutoAttack ({version}, {norm}, eps {eps:g}) on {len(x)} examples: clean {accuracy[CLEAN]:.2%}")
    x_adv = x.copy()
    components = _components(eps, norm, version, seed, n_classes, ce_loss)
    for name in attacks:
        start = time.perf_counter()
        _run_component(components[name], model_fn, x, y, x_adv, broken_by, name, batch_size)
        seconds[name] = time.perf_counter() - start
        accuracy[name] = float(np.mean(broken_by == ""))
        log(f"  after {name:<8} robust accuracy {accuracy[name]:.2%} ({seconds[name]:.1f} s)")
    return AutoAttackResult(tf.constant(x_adv), broken_by.astype(str), accuracy, seconds)
