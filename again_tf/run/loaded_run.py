"""Finished run folders read back for analysis: the trained model, its config and the test images,
and the check that runs compared together share a data set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from again_tf.data import load_arrays
from again_tf.engine.checkpoints import load_trained_model, resolve_source, run_config, source_dataset
from again_tf.errors import ConfigError


def check_same_dataset(runs: list[Path]) -> None:
    """Compared runs must share a data set: curves and maps of different data mean nothing together."""
    found = {}
    for run in runs:
        config = run / "config.json"
        if not config.is_file():
            raise ConfigError(f"{run}: no config.json; give run folders written by training.train.")
        found[run.name] = json.loads(config.read_text())["data"]["dataset"]
    if len(set(found.values())) > 1:
        listed = ", ".join(f"{k}: {v}" for k, v in found.items())
        raise ConfigError(f"the runs use different data sets ({listed}); compare runs of one data set.")


def load_run(run: Path, checkpoint: str):
    source = resolve_source(run, checkpoint)
    config = run_config(source)
    info = source_dataset(source)
    _, (x, y) = load_arrays(info, config.data.source if config else "auto",
                            config.data.data_dir if config else None)
    return load_trained_model(source, info), config, (x / 255.0).astype(np.float32), y.astype(np.int32)
