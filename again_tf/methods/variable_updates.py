"""Updating weights inside the train step the same way on every replica: AWP's perturbation and
its removal, LAS-AT's look-ahead step and its undo, the restore of BatchNorm statistics."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


def update_variables(variables: Sequence, values: Sequence[tf.Tensor], mode: str = "add") -> None:
    """``assign_add`` (``mode="add"``) or ``assign`` identical values on every replica.

    Goes through ``merge_call`` + ``extended.update`` like the Keras optimizer, so it works
    for mirrored variables in replica context as well as outside ``tf.distribute``.
    """
    if mode not in ("add", "assign"):
        raise ValueError(f"update_variables: mode {mode!r}; allowed: add, assign.")
    tf_vars = [getattr(v, "value", v) for v in variables]

    def apply(distribution, pairs):
        for var, value in pairs:
            fn = (lambda w, d: w.assign_add(d)) if mode == "add" else (lambda w, d: w.assign(d))
            distribution.extended.update(var, fn, args=(value,), group=False)

    tf.__internal__.distribute.interim.maybe_merge_call(
        apply, tf.distribute.get_strategy(), list(zip(tf_vars, values))
    )
