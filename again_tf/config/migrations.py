"""Config files written by earlier versions, rewritten to today's fields before they are applied.

A run folder's config.json must keep its meaning: ``training.evaluate``, ``--config`` and resuming
read old folders, so every renamed or re-meant field gets a rule here instead of a KeyError.
"""

from __future__ import annotations

import copy


def _validation_split(data: dict, seed: int) -> None:
    """Before ``data.val_source``: ``holdout_examples: 0`` validated on the first ``val_examples``
    test images; ``holdout_examples: N`` held out N training examples, drawn with the run's seed."""
    held = data.pop("holdout_examples")
    if held:
        data.update(val_source="holdout", val_examples=held, split_seed=seed)
    else:
        data.setdefault("val_source", "test")


def migrate(config: dict) -> dict:
    """A copy of a (full or partial) config dict with old fields rewritten."""
    config = copy.deepcopy(config)
    data = config.get("data")
    if isinstance(data, dict) and "holdout_examples" in data:
        _validation_split(data, config.get("seed", 0))
    elif isinstance(data, dict) and "val_examples" in data and "dataset" in data and "val_source" not in data:
        data["val_source"] = "test"  # a run folder older still: its validation was the test split's
    return config
