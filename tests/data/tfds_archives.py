"""Archives in the exact formats tensorflow-datasets' builders download, and a stand-in for the
one step that needs the network: the HTTP request.

Everything after the request is tfds's own code: the download manager saves and hashes the bytes,
validates the checksum, extracts the archive, and the data set's real builder parses the files and
writes the prepared copy. ``serve`` replaces ``downloader._open_url`` (tfds's "open an url" step:
requests for http(s), urllib for ftp) by a reader of the local file, and tells the download
manager the size and sha256 of the archive it serves, because a tiny archive cannot have the
registered checksum of the real file: validation still runs, against the bytes actually served.
The builders' own checksum files are still read (that read is what fails without
``importlib_resources``, tensorflow/datasets#11212).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from again_tf.data.catalog import CIFAR100_CLASSES

CIFAR_HOST = "https://www.cs.toronto.edu/~kriz/"
SVHN_HOST = "http://ufldl.stanford.edu/housenumbers/"
MNIST_HOST = "https://storage.googleapis.com/cvdf-datasets/mnist/"
FASHION_HOST = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IDX_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
MNIST_SPLIT_SIZES = {"train": 60000, "test": 10000}  # the mnist builder reads exactly these counts
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass
class Archive:
    """What to serve (url -> local file) and the arrays it holds, as ``load_arrays`` returns them
    (uint8 ``[N, H, W, C]`` images, int64 labels), in the archive's order."""

    files: dict[str, Path]
    splits: dict[str, Arrays] = field(default_factory=dict)


def _images(rng: np.random.Generator, count: int, shape: tuple[int, ...]) -> np.ndarray:
    """Random uint8 images: distinct with overwhelming probability, so rows identify examples."""
    return rng.integers(0, 256, (count, *shape), dtype=np.uint8)


def _add_to_tar(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    tar.addfile(member, io.BytesIO(data))


def _cifar_records(labels: list[np.ndarray], images: np.ndarray) -> bytes:
    """CIFAR's binary records: the label bytes (coarse then fine for CIFAR-100), then 3072 bytes
    of the image as three 32 x 32 planes (R, G, B)."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    heads = np.stack(labels, axis=1).astype(np.uint8)
    return np.concatenate([heads, planes], axis=1).tobytes()


def write_cifar10(folder: Path, per_batch: int = 8, test: int = 16, seed: int = 0) -> Archive:
    """``cifar-10-binary.tar.gz`` as the tfds cifar10 builder downloads it: ``cifar-10-batches-bin/``
    with five ``data_batch_N.bin``, ``test_batch.bin`` and ``batches.meta.txt`` (the class names)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-10-binary.tar.gz"
    batches = [(_images(rng, per_batch, (32, 32, 3)), rng.integers(0, 10, per_batch)) for _ in range(5)]
    test_x, test_y = _images(rng, test, (32, 32, 3)), rng.integers(0, 10, test)
    with tarfile.open(path, "w:gz") as tar:
        for k, (x, y) in enumerate(batches, start=1):
            _add_to_tar(tar, f"cifar-10-batches-bin/data_batch_{k}.bin", _cifar_records([y], x))
        _add_to_tar(tar, "cifar-10-batches-bin/test_batch.bin", _cifar_records([test_y], test_x))
        _add_to_tar(tar, "cifar-10-batches-bin/batches.meta.txt", "\n".join(CIFAR10_NAMES).encode() + b"\n\n")
    train = (np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches]))
    return Archive({CIFAR_HOST + path.name: path}, _as_loaded(train=train, test=(test_x, test_y)))


def write_cifar100(folder: Path, train: int = 40, test: int = 16, seed: int = 1) -> Archive:
    """``cifar-100-binary.tar.gz``: ``cifar-100-binary/train.bin`` and ``test.bin`` (records with a
    coarse and a fine label byte) and the 20 coarse and 100 fine label names."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-100-binary.tar.gz"
    splits = {name: (_images(rng, n, (32, 32, 3)), rng.integers(0, 100, n)) for name, n in
              (("train", train), ("test", test))}
    with tarfile.open(path, "w:gz") as tar:
        for name, (x, fine) in splits.items():
            _add_to_tar(tar, f"cifar-100-binary/{name}.bin", _cifar_records([fine // 5, fine], x))
        _add_to_tar(tar, "cifar-100-binary/coarse_label_names.txt",
                    "\n".join(f"superclass_{i}" for i in range(20)).encode())
        _add_to_tar(tar, "cifar-100-binary/fine_label_names.txt",
                    "\n".join(CIFAR100_CLASSES).encode())
    return Archive({CIFAR_HOST + path.name: path}, _as_loaded(**splits))


def write_svhn(folder: Path, sizes: tuple[int, int, int] = (40, 16, 4), seed: int = 2) -> Archive:
    """``train_32x32.mat``, ``test_32x32.mat`` and ``extra_32x32.mat`` (MATLAB 5 files, as the
    real ones): ``X`` is ``[32, 32, 3, N]`` uint8 and ``y`` ``[N, 1]`` with the digit 0 stored as 10."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    archive = Archive({})
    for name, count in zip(("train", "test", "extra"), sizes):
        x, digits = _images(rng, count, (32, 32, 3)), rng.integers(0, 10, count)
        path = folder / f"{name}_32x32.mat"
        stored = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
        savemat(path, {"X": np.moveaxis(x, 0, -1), "y": stored})
        archive.files[SVHN_HOST + path.name] = path
        if name != "extra":
            archive.splits[name] = (x, digits.astype(np.int64))
    return archive


def idx_bytes(array: np.ndarray) -> bytes:
    """One IDX file of unsigned bytes: magic (0, 0, 0x08, ndim), the dimensions, the data."""
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return bytes([0, 0, 8, array.ndim]) + dims + np.ascontiguousarray(array, np.uint8).tobytes()


def write_mnist(folder: Path, seed: int = 3) -> Archive:
    """The four gzipped IDX files the mnist builder downloads. The builder reads exactly 60000
    and 10000 examples (no header check), so these are full-size; the images are blank but for a
    random 4 x 4 patch at a place set by the label, so the gzip files stay small (~0.6 MB)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    archive = Archive({})
    for split, count in MNIST_SPLIT_SIZES.items():
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = np.zeros((count, 28, 28), np.uint8)
        rows, cols = 2 + 2 * labels, 4 + (np.arange(count) % 20)
        patch = rng.integers(1, 256, (count, 4, 4), dtype=np.uint8)
        for dr in range(4):
            for dc in range(4):
                images[np.arange(count), rows + dr, cols + dc] = patch[:, dr, dc]
        for name, array in zip(IDX_FILES[split], (images, labels)):
            (folder / name).write_bytes(gzip.compress(idx_bytes(array), compresslevel=6, mtime=0))
            archive.files[MNIST_HOST + name] = folder / name
        archive.splits[split] = (images[..., None], labels.astype(np.int64))
    return archive


def fashion_archive(folder: Path) -> Archive:
    """The real Fashion-MNIST: the four IDX .gz files of Debian's dataset-fashion-mnist are the
    files the fashion_mnist builder downloads (gzip headers differ from upstream's, so their
    sha256 does too). ``splits`` is left empty: the IDX reader is what the test compares with."""
    return Archive({FASHION_HOST + name: folder / name for pair in IDX_FILES.values() for name in pair})


def _as_loaded(**splits: Arrays) -> dict[str, Arrays]:
    return {name: (x, np.asarray(y, np.int64)) for name, (x, y) in splits.items()}


def as_rows(arrays: Arrays) -> list[tuple[bytes, int]]:
    """The (image bytes, label) pairs in a canonical order: equal lists mean the same examples
    with the same labels, in whatever order tfds wrote them."""
    x, y = arrays
    return sorted(zip((row.tobytes() for row in x), y.tolist()))


@dataclass
class _Response:
    """What tfds reads of an HTTP response: the final url (its file name) and the headers."""

    url: str
    headers: dict


class Served:
    """The urls tfds asked for, in order, while ``serve`` was active."""

    def __init__(self, files: dict[str, Path]):
        self.files = dict(files)
        self.requested: list[str] = []

    @contextlib.contextmanager
    def open_url(self, url: str, **_kwargs) -> Iterator[tuple[_Response, Iterator[bytes]]]:
        """tfds's ``_open_url`` for the served files; any other url fails the test by name."""
        self.requested.append(url)
        if url not in self.files:
            raise AssertionError(f"tfds asked for {url}, which the test does not serve "
                                 f"(served: {sorted(self.files)}): did the builder's urls change?")
        path = self.files[url]
        with open(path, "rb") as handle:
            yield (_Response(url, {"Content-length": str(path.stat().st_size)}),
                   iter(lambda: handle.read(1 << 20), b""))


def serve(monkeypatch, files: dict[str, Path], register: bool = True) -> Served:
    """Hands tfds the local ``files`` instead of downloading their urls (see the module docstring);
    ``register=False`` leaves tfds expecting the real files' checksums."""
    from tensorflow_datasets.core.download import checksums, download_manager, downloader
    from tensorflow_datasets.core.utils import gcs_utils

    served = Served(files)
    monkeypatch.setattr(downloader, "_open_url", served.open_url)
    monkeypatch.setattr(gcs_utils, "_is_gcs_disabled", True)  # tfds' own switch (the default in 4.9)
    if register:
        expected = {url: checksums.compute_url_info(path) for url, path in files.items()}
        real_init = download_manager.DownloadManager.__init__

        def init(self, *args, url_infos=None, **kwargs):
            real_init(self, *args, url_infos={**(url_infos or {}), **expected}, **kwargs)

        monkeypatch.setattr(download_manager.DownloadManager, "__init__", init)
    return served
