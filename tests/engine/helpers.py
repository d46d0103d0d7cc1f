"""Small configs and real Fashion-MNIST batches for the engine tests."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from again_tf.config import apply_overrides, get_preset, with_method
from again_tf.data import FASHION_MNIST_DIR, load_idx_folder


def tiny_config(method="again_pgd_at", **overrides):
    config = with_method(get_preset("quickstart"), method)
    base = {"model.widths": "8,16,16", "attack.steps": "2", "data.batch_size": "32",
            "objective.awp_warmup_epochs": "0"}
    return apply_overrides(config, {**base, **overrides}).validate()


_CACHE = {}


def fashion(n_train=2048, n_test=512):
    """Real Fashion-MNIST as float [0, 1] arrays (first n of each split)."""
    if "arrays" not in _CACHE:
        _CACHE["arrays"] = load_idx_folder(FASHION_MNIST_DIR)
    (x, y), (xt, yt) = _CACHE["arrays"]
    return ((x[:n_train] / 255.0).astype(np.float32), y[:n_train].astype(np.int32),
            (xt[:n_test] / 255.0).astype(np.float32), yt[:n_test].astype(np.int32))


def replace(config, section, **fields):
    return dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section), **fields)})


@contextlib.contextmanager
def eval_attack(model, **changes):
    """The model's evaluation attack with ``changes`` inside the block (test step retraced),
    the original after it."""
    saved = model.eval_attack
    model.eval_attack, model.test_function = dataclasses.replace(saved, **changes), None
    try:
        yield
    finally:
        model.eval_attack, model.test_function = saved, None
