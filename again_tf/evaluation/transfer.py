"""Attacks past the argmax ASE mask that the adaptive PGD can miss, scored on the deployed model.

At inference an ASE mask is ``W[:, argmax z_aux]``: piecewise constant in the image, so no
gradient says how to change it, and the adaptive attack (``pgd_through_heads``: main head plus
``beta_aux`` times the auxiliary heads) sees it only through the auxiliary loss it adds. When
the main head follows a head's argmax (``training.analyze masks``), a weak push on that head
can hide the easiest way to flip the decision. Two attacks close that gap:

* ``head<i>``: PGD on ASE head ``i``'s cross-entropy alone, keeping the first iterate that
  fools the deployed model;
* ``soft<T>``: BPDA (Athalye et al. 2018): the same weights with the argmax mask replaced by
  ``W softmax(z_aux / T)`` (``T -> 0`` is the deployed mask), attacked through its heads; its
  last iterate is scored on the deployed model (a transfer attack).

An example is robust to the set when it survives every attack (``worst``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from again_tf.attacks.losses import cross_entropy, through_aux_heads
from again_tf.attacks.pgd import pgd
from again_tf.evaluation.cascade import Attack, correct_predictions
from again_tf.models.outputs import aux_logits

WORST = "worst"


def head_attack(outputs_fn: Callable, site: int, *, eps: float, step_size: float, steps: int,
                norm: str = "linf") -> Attack:
    """PGD on the cross-entropy of ASE head ``site`` (0-based) alone; an example stops at the
    first iterate the deployed main head misclassifies."""
    loss = lambda outputs, labels: cross_entropy(aux_logits(outputs)[site], labels)
    return lambda x, y: pgd(outputs_fn, x, y, eps=eps, step_size=step_size, steps=steps, norm=norm,
                            loss=loss, keep_found=True)


def surrogate_attack(surrogate_fn: Callable, beta_aux: float, *, eps: float, step_size: float,
                     steps: int, norm: str = "linf") -> Attack:
    """PGD through the heads of a differentiable stand-in of the deployed model; the last iterate
    (the surrogate's highest loss) is what transfers, not the first that fools the surrogate."""
    return lambda x, y: pgd(surrogate_fn, x, y, eps=eps, step_size=step_size, steps=steps, norm=norm,
                            loss=through_aux_heads(cross_entropy, beta_aux), keep_found=False)


def transfer_columns(logits_fn: Callable, attacks: Mapping[str, Attack], x, y) -> dict[str, np.ndarray]:
    """Per attack, 1 where the deployed model (``logits_fn``) still classifies the attacked image
    correctly; ``worst``: 1 where it survives them all."""
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.int32)
    columns = {name: correct_predictions(logits_fn(attack(x, y)), y).numpy().astype(np.int8)
               for name, attack in attacks.items()}
    columns[WORST] = np.minimum.reduce(list(columns.values())) if columns else np.zeros(0, np.int8)
    return columns
