"""Where the arrays come from: an IDX folder on disk or tensorflow-datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from again_tf.data.catalog import FASHION_MNIST_DIR, DatasetInfo
from again_tf.data.idx import load_idx_folder
from again_tf.errors import DataError

SPLITS = ("train", "test")


def load_tfds(info: DatasetInfo, data_dir: str | None = None, download: bool = True,
              splits: tuple[str, ...] = SPLITS):
    """Loads the splits (``train``, ``test``) fully into memory (uint8 images, int64 labels)."""
    import tensorflow_datasets as tfds

    names = {"train": "train", "test": info.test_split}
    try:
        loaded = tfds.load(
            info.tfds_name, split=[names[s] for s in splits], as_supervised=True, batch_size=-1,
            data_dir=data_dir, download=download,
        )
    except Exception as err:  # tfds raises many types (network, missing files, checksums)
        where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        hint = (
            " For fashion_mnist, use the IDX files instead: data.source=folder "
            f"(default folder {FASHION_MNIST_DIR}, from Debian's dataset-fashion-mnist)."
            if info.name == "fashion_mnist" else ""
        )
        raise DataError(
            f"Could not load {info.name!r} with tensorflow-datasets (data_dir={where}, "
            f"download={download}): {type(err).__name__}: {first}. Fix: run once where the "
            f"network reaches the data set's host, or copy a prepared tfds folder and set "
            f"data.data_dir to it.{hint}"
        ) from None
    return tuple((np.asarray(x), np.asarray(y).astype(np.int64)) for x, y in loaded)


def load_arrays(info: DatasetInfo, source: str = "auto", data_dir: str | None = None,
                splits: tuple[str, ...] = SPLITS):
    """``((x_train, y_train), (x_test, y_test))`` for the data set, from the configured source;
    ``splits=("train",)`` reads the training split only (tuning never touches the test split).

    ``auto`` reads Fashion-MNIST from its IDX folder when the folder exists, else uses tfds.
    """
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not splits:
        raise ValueError(f"splits: got {list(splits)}; allowed: a non-empty subset of {list(SPLITS)}.")
    if source == "folder" or (source == "auto" and info.name == "fashion_mnist"):
        if info.name != "fashion_mnist":
            raise DataError(
                f"data.source=folder reads the Fashion-MNIST IDX files only; {info.name!r} "
                f"comes from tensorflow-datasets: use data.source=tfds or auto."
            )
        folder = Path(data_dir or FASHION_MNIST_DIR)
        if source == "folder" or folder.is_dir():
            return load_idx_folder(folder, info.num_classes, splits)
        return load_tfds(info, None, splits=splits)
    return load_tfds(info, data_dir, splits=splits)
