"""The AA column: AutoAttack on the deployed model and, where the model has ASE heads, an extra
APGD-CE through them on the examples AutoAttack left (the adaptive worst case)."""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from again_tf.attacks.apgd import apgd
from again_tf.attacks.autoattack import VERSIONS, autoattack
from again_tf.attacks.losses import cross_entropy, through_aux_heads
from again_tf.errors import ConfigError

AUX_COMPONENT = "apgd-ce-aux"  # broken_by of the examples only the adaptive APGD-CE broke


@functools.cache
def _aux_ce(beta_aux: float):
    """One loss object per beta, so that the traced APGD is reused batch after batch."""
    return through_aux_heads(cross_entropy, beta_aux)


def check_autoattack(specs, settings) -> None:
    """FAB-T and Square are L-inf attacks: the standard version needs ``norm='linf'``."""
    for spec in specs:
        if spec.kind == "aa" and settings.norm != "linf" and "square" in VERSIONS[spec.version]:
            raise ConfigError(f"attacks: {spec.name} (standard AutoAttack) is L-inf only; use "
                              f"aa_rand or drop it with norm={settings.norm!r}.")


def autoattack_columns(target, spec, settings, x, y, use_aux: bool, batch: int = 0, log=None) -> dict:
    """``<name>:main`` AutoAttack as published; ``<name>`` the worst case with the adaptive
    APGD-CE; ``<name>:broken_by`` the component that broke each example ("" if robust).
    ``log`` gets a line per component (AutoAttack takes minutes per batch)."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int32)
    seed = settings.seed + batch
    result = autoattack(target.outputs_fn, x, y, eps=settings.eps, norm=settings.norm,
                        version=spec.version, seed=seed, log=log)
    main = result.robust.astype(np.int8)
    broken_by = result.broken_by.astype(object)
    survivors = np.flatnonzero(main)
    if use_aux and survivors.size:
        x_adv = apgd(target.outputs_fn, x[survivors], y[survivors], eps=settings.eps, norm=settings.norm,
                     loss=_aux_ce(float(target.beta_aux)), seed=seed)
        predicted = tf.argmax(target.logits(x_adv), axis=-1, output_type=tf.int32).numpy()
        broken_by[survivors[predicted != y[survivors]]] = AUX_COMPONENT
        if log:
            log(f"  after {AUX_COMPONENT} robust accuracy {np.mean(broken_by == ''):.2%}")
    return {f"{spec.name}:main": main, spec.name: (broken_by == "").astype(np.int8),
            f"{spec.name}:broken_by": broken_by.astype(str)}
