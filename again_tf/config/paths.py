"""Paths the CLIs are given and the checkpoint names a run folder holds, checked in microseconds,
before TensorFlow is even imported (a typo costs no TensorFlow start-up)."""

from __future__ import annotations

from pathlib import Path

from again_tf.config.schema import RunConfig
from again_tf.errors import ConfigError

CHECKPOINTS = ("best_robust", "last")  # <run>/checkpoints/<name>.keras


def check_exists(path: str | Path, flag: str, expected: str) -> None:
    """A path argument that must name something: ``expected`` says what to pass instead."""
    if not Path(path).exists():
        raise ConfigError(f"{flag}: nothing at {path}; pass {expected}.")


def check_data_dir(data_dir: str | None, flag: str = "--data-dir") -> None:
    """An explicit data folder must exist: the IDX reader needs its files, and tensorflow-datasets
    would otherwise start a download into a mistyped folder."""
    if data_dir is None or Path(data_dir).is_dir():
        return
    raise ConfigError(f"{flag}: no folder at {data_dir}; point it at the folder holding the Fashion-MNIST "
                      f"IDX .gz files or a prepared tensorflow-datasets folder (create it first for a "
                      f"download), or leave it out for the default.")


def check_config_paths(config: RunConfig) -> None:
    """The paths of a resolved config that must exist before a run starts."""
    check_data_dir(config.data.data_dir, "data.data_dir (--data-dir)")
