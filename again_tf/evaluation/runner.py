"""Runs the table's attacks batch by batch and fills the per-example record."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import tensorflow as tf

from again_tf.attacks.cascade import cascade
from again_tf.attacks.losses import cross_entropy, cw_margin, on_main_head
from again_tf.attacks.pgd import pgd, pgd_through_heads
from again_tf.config.schema import default_step_size
from again_tf.evaluation.attack_specs import AttackSpec, EvalSettings
from again_tf.evaluation.autoattack_columns import autoattack_columns, check_autoattack
from again_tf.evaluation.record import EvalRecord
from again_tf.evaluation.target import EvalTarget
from again_tf.evaluation.transfer import past_mask_columns

LARGE_EPS = 0.5  # the sanity attack that must drive accuracy to about 0
SANITY = ("check:eps0", "check:eps_large")  # PGD-10 at eps 0 and at LARGE_EPS, every example


def _pgd_loss(spec: AttackSpec, settings: EvalSettings) -> Callable:
    if spec.kind == "cw":
        return functools.partial(cw_margin, kappa=settings.kappa)
    return cross_entropy


def _attack_arguments(spec: AttackSpec, settings: EvalSettings) -> dict:
    """FGSM is one step of eps from x; PGD and C&W start at random, with restarts."""
    fgsm = spec.kind == "fgsm"
    return {"eps": settings.eps, "step_size": settings.eps if fgsm else settings.step, "steps": spec.steps,
            "norm": settings.norm, "init": "none" if fgsm else "uniform",
            "restarts": 1 if fgsm else settings.restarts}


def _main_head_attack(target, spec, settings, x, y) -> tf.Tensor:
    loss = on_main_head(_pgd_loss(spec, settings))
    return pgd(target.outputs_fn, x, y, loss=loss, keep_found=True, **_attack_arguments(spec, settings))


def _adaptive_attack(target, spec, settings, x, y) -> tf.Tensor:
    return pgd_through_heads(target.outputs_fn, x, y, beta_aux=target.beta_aux,
                             loss=_pgd_loss(spec, settings), **_attack_arguments(spec, settings))


def gradient_columns(target, spec, settings, x, y, use_aux: bool) -> dict[str, np.ndarray]:
    """``<name>:main`` (the main head's loss through the masks) and ``<name>``, the worst case
    with the attack through the auxiliary heads run on the survivors."""
    legs = [_main_head_attack] + ([_adaptive_attack] if use_aux else [])
    attacks = [functools.partial(leg, target, spec, settings) for leg in legs]
    results = [r.numpy().astype(np.int8) for r in cascade(target.logits, x, y, attacks)]
    return {f"{spec.name}:main": results[0], spec.name: results[-1]}


def sanity_columns(target, settings, x, y, use_aux: bool) -> dict[str, np.ndarray]:
    """PGD-10 at eps 0 (must equal clean) and, as adaptive as the table, at a large eps (must
    reach about 0)."""
    at_zero = pgd(target.outputs_fn, x, y, eps=0.0, step_size=settings.step, steps=10,
                  norm=settings.norm, loss=on_main_head(cross_entropy), init="uniform")
    large = replace(settings, eps=LARGE_EPS, step_size=default_step_size(LARGE_EPS))
    worst = gradient_columns(target, AttackSpec("pgd10", "pgd", 10), large, x, y, use_aux)["pgd10"]
    return {SANITY[0]: target.correct(at_zero, y), SANITY[1]: worst}


@dataclass
class Progress:
    """One line per attack and batch on stderr-like ``write`` (the CLI passes print)."""

    total: int
    write: Callable[[str], None] = print

    def __call__(self, batch: int, name: str, column: np.ndarray, seconds: float) -> None:
        self.write(f"  batch {batch + 1}/{self.total} {name:<12} robust "
                   f"{100 * column.mean():6.2f}%  ({seconds:.1f} s)")


def batch_columns(target, specs, settings, x, y, use_aux, progress=None, batch=0):
    """Every column of one batch: the attacks in order, then the sanity attacks."""
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.int32)
    columns = {}
    for spec in specs:
        start = time.perf_counter()
        if spec.kind == "clean":
            new = {spec.name: target.correct(x, y)}
        elif spec.kind == "aa":
            new = autoattack_columns(target, spec, settings, x, y, use_aux, batch,
                                     log=progress.write if progress else None)
        elif spec.kind == "transfer":
            new = past_mask_columns(target, spec, settings, x, y)
        else:
            new = gradient_columns(target, spec, settings, x, y, use_aux)
        columns.update(new)
        if progress:
            progress(batch, spec.name, new[spec.name], time.perf_counter() - start)
    columns.update(sanity_columns(target, settings, x, y, use_aux))
    return columns


def run_attacks(target: EvalTarget, images: np.ndarray, labels: np.ndarray, specs, settings,
                record: EvalRecord, progress: Callable[[str], None] | None = print) -> dict:
    """Attacks every batch not yet in ``record`` and returns the record's columns.

    Each batch is seeded with ``seed + batch`` so a resumed run draws what it would have drawn.
    """
    target.check_images(images.shape)
    check_autoattack(specs, settings)
    use_aux = settings.adaptive == "both" and target.has_aux()
    batches = range(0, len(images), settings.batch_size)
    report = Progress(len(batches), progress) if progress else None
    for batch, start in enumerate(batches):
        if record.done(batch):
            continue
        tf.random.set_seed(settings.seed + batch)
        x, y = images[start:start + settings.batch_size], labels[start:start + settings.batch_size]
        columns = batch_columns(target, specs, settings, x, y, use_aux, report, batch)
        record.add(batch, np.arange(start, start + len(x)), y, columns)
    return record.columns()
