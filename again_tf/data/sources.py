"""Where the arrays come from: an IDX folder on disk or tensorflow-datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from again_tf.data.catalog import FASHION_MNIST_DIR, DatasetInfo
from again_tf.data.idx import load_idx_folder
from again_tf.data.tfds_errors import classify_tfds_error, tfds_error_message
from again_tf.errors import DataError

SPLITS = ("train", "test")


def load_tfds(info: DatasetInfo, data_dir: str | None = None, download: bool = True,
              splits: tuple[str, ...] = SPLITS):
    """Loads the splits (``train``, ``test``) fully into memory (uint8 images, int64 labels).

    Any failure is one DataError saying which cause it was (``classify_tfds_error``) and its fix:
    "check the network" is the fix for a failed download only."""
    names = {"train": "train", "test": info.test_split}
    try:
        import tensorflow_datasets as tfds

        loaded = tfds.load(
            info.tfds_name, split=[names[s] for s in splits], as_supervised=True, batch_size=-1,
            data_dir=data_dir, download=download,
        )
    except Exception as err:  # tfds raises many types (imports, network, checksums, files)
        failure = classify_tfds_error(err)
        raise DataError(tfds_error_message(info, failure, data_dir, download)) from (
            err if failure.kind == "other" else None)
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
