"""Attacks past the argmax ASE mask that the adaptive PGD can miss, scored on the deployed model.

At inference an ASE mask is ``W[:, argmax z_aux]``: piecewise constant in the image, so no
gradient says how to change it, and the adaptive attack (``pgd_through_heads``: main head plus
``beta_aux`` times the auxiliary heads) sees it only through the auxiliary loss it adds. When
the main head follows a head's argmax (``training.analyze masks``), a weak push on that head
can hide the easiest way to flip the decision. Two attacks close that gap:

* ``head<i>``: PGD on ASE head ``i``'s cross-entropy alone, keeping the first iterate that
  fools the deployed model;
* ``soft_T<T>``: BPDA (Athalye et al. 2018): the same weights with the argmax mask replaced by
  ``W softmax(z_aux / T)`` (``T -> 0`` is the deployed mask), attacked through its heads; its
  last iterate is scored on the deployed model (a transfer attack).

An example is robust to the set when it survives every attack (``worst``). ``training.evaluate``
runs the set as the ``transfer`` column (``past_mask_columns``); ``training.analyze transfer``
runs it on a run whose evaluations are already done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from again_tf.attacks.cascade import Attack, correct_predictions
from again_tf.attacks.losses import cross_entropy, through_aux_heads
from again_tf.attacks.pgd import PGDSettings, pgd
from again_tf.evaluation.attack_specs import AttackSpec, EvalSettings
from again_tf.evaluation.target import EvalTarget
from again_tf.models.outputs import aux_logits

WORST = "worst"
TEMPERATURES = (1.0, 0.1)  # of the soft-mask surrogates: T = 1 smooth, T = 0.1 near the argmax


def head_attack(outputs_fn: Callable, site: int, attack: PGDSettings) -> Attack:
    """PGD on the cross-entropy of ASE head ``site`` (0-based) alone; an example stops at the
    first iterate the deployed main head misclassifies."""
    loss = lambda outputs, labels: cross_entropy(aux_logits(outputs)[site], labels)
    return lambda x, y: pgd(outputs_fn, x, y, loss=loss, keep_found=True, **attack.kwargs())


def surrogate_attack(surrogate_fn: Callable, beta_aux: float, attack: PGDSettings) -> Attack:
    """PGD through the heads of a differentiable stand-in of the deployed model; the last iterate
    (the surrogate's highest loss) is what transfers, not the first that fools the surrogate."""
    return lambda x, y: pgd(surrogate_fn, x, y, loss=through_aux_heads(cross_entropy, beta_aux),
                            keep_found=False, **attack.kwargs())


def transfer_columns(logits_fn: Callable, attacks: Mapping[str, Attack], x, y) -> dict[str, np.ndarray]:
    """Per attack, 1 where the deployed model (``logits_fn``) still classifies the attacked image
    correctly; ``worst``: 1 where it survives them all."""
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.int32)
    columns = {name: correct_predictions(logits_fn(attack(x, y)), y).numpy().astype(np.int8)
               for name, attack in attacks.items()}
    columns[WORST] = np.minimum.reduce(list(columns.values())) if columns else np.zeros(0, np.int8)
    return columns


def past_mask_attacks(outputs_fn: Callable, sites: int, surrogates, beta_aux: float,
                      attack: PGDSettings) -> dict[str, Attack]:
    """``head<i>`` for each of the ``sites`` ASE heads, then one transfer per ``(name, fn)`` of
    ``surrogates``; every one the same PGD (``attack``)."""
    attacks = {f"head{i + 1}": head_attack(outputs_fn, i, attack) for i in range(sites)}
    attacks.update({name: surrogate_attack(fn, beta_aux, attack) for name, fn in surrogates})
    return attacks


def past_mask_columns(target: EvalTarget, spec: AttackSpec, settings: EvalSettings,
                      x, y) -> dict[str, np.ndarray]:
    """``<name>``: the worst case over the attacks past the masks, and ``<name>:<attack>`` each.
    A model without ASE heads has no mask to get past: its column is the clean one."""
    sites = target.aux_sites()
    if sites == 0:
        return {spec.name: target.correct(x, y)}
    attack = PGDSettings(settings.eps, settings.step, spec.steps, settings.norm)
    attacks = past_mask_attacks(target.outputs_fn, sites, target.surrogates, target.beta_aux, attack)
    found = transfer_columns(target.logits, attacks, x, y)
    worst = found.pop(WORST)
    return {spec.name: worst, **{f"{spec.name}:{k}": v for k, v in found.items()}}
