"""Reader of the IDX format (LeCun's MNIST files), gzipped or not, with checks on every header."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from again_tf.errors import DataError

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: cannot be read ({err}); re-download or reinstall it.") from None


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Parses one IDX file of unsigned bytes; raises DataError naming the file and the problem."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 8:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes).")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        kind = "images (2051)" if magic == IMAGE_MAGIC else "labels (2049)"
        raise DataError(f"{path}: not an IDX {kind} file (magic number {found}).")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise DataError(
            f"{path}: header says {dims} ({expected} bytes) but the file holds "
            f"{len(data) - offset}; the file is truncated or corrupt: reinstall it."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_idx_folder(folder: str | Path, num_classes: int = 10, splits: tuple[str, ...] = ("train", "test")):
    """``((x_train, y_train), (x_test, y_test))`` as uint8 ``[N, 28, 28, 1]`` and int64 labels
    (one pair per entry of ``splits``; the other split's files are not read)."""
    folder = Path(folder)
    wanted = {key: name for key, name in FASHION_FILES.items() if key.split("_")[0] in splits}
    missing = [name for name in wanted.values() if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder}: missing {', '.join(missing)}. Install Debian's dataset-fashion-mnist "
            f"(apt-get install dataset-fashion-mnist) or point data.data_dir at a folder with "
            f"the four IDX .gz files."
        )
    arrays = {key: read_idx(folder / name, IMAGE_MAGIC if "images" in key else LABEL_MAGIC)
              for key, name in wanted.items()}
    out = []
    for split in splits:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{folder}: {split} has {images.shape[0]} images but {labels.shape[0]} labels."
            )
        if labels.size and labels.max() >= num_classes:
            raise DataError(f"{folder}: {split} labels reach {labels.max()}, beyond {num_classes} classes.")
        out.append((images[..., None], labels.astype(np.int64)))
    return tuple(out)
