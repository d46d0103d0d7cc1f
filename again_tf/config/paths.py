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


def reads_idx_folder(source: str, dataset: str | None) -> bool:
    """Whether ``data_dir`` names the Fashion-MNIST IDX folder (as ``again_tf.data.load_arrays``
    reads it), which must exist; a tensorflow-datasets folder may be created by the download.
    An unknown data set (None) counts as a folder to read."""
    return source == "folder" or (source == "auto" and dataset in (None, "fashion_mnist"))


def check_data_dir(data_dir: str | None, source: str, dataset: str | None, flag: str = "--data-dir") -> None:
    if data_dir is None or not reads_idx_folder(source, dataset) or Path(data_dir).is_dir():
        return
    raise ConfigError(f"{flag}: no folder at {data_dir}; point it at the folder holding the Fashion-MNIST "
                      f"IDX .gz files (or a prepared tensorflow-datasets folder), or leave it out for "
                      f"the default.")


def check_config_paths(config: RunConfig) -> None:
    """The paths of a resolved config that must exist before a run starts."""
    data = config.data
    check_data_dir(data.data_dir, data.source, data.dataset, "data.data_dir (--data-dir)")
