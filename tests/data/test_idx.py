import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from again_tf.data import FASHION_MNIST_DIR, dataset_info, load_arrays, load_idx_folder, load_tfds, read_idx
from again_tf.data.idx import FASHION_FILES, IMAGE_MAGIC
from again_tf.errors import DataError

needs_fashion = pytest.mark.skipif(not Path(FASHION_MNIST_DIR).is_dir(),
                                   reason="Debian's dataset-fashion-mnist is not installed")


@needs_fashion
def test_reads_the_real_fashion_mnist_folder():
    (x_train, y_train), (x_test, y_test) = load_idx_folder(FASHION_MNIST_DIR)
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == np.uint8 and set(np.unique(y_train)) == set(range(10))
    assert np.bincount(y_test).tolist() == [1000] * 10  # the test split is balanced


def _write_idx(path, array, magic):
    header = magic.to_bytes(4, "big")[:3] + bytes([array.ndim])
    header = (magic >> 8).to_bytes(3, "big") + bytes([array.ndim])
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + dims + array.astype(np.uint8).tobytes())


def _fake_folder(tmp_path, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    for key, name in FASHION_FILES.items():
        n = n_train if key.startswith("train") else n_test
        array = rng.integers(0, 255, (n, 28, 28)) if "images" in key else rng.integers(0, 10, n)
        _write_idx(tmp_path / name, array, 2051 if "images" in key else 2049)
    return tmp_path


def test_round_trip_of_a_written_folder(tmp_path):
    (x, y), (xt, yt) = load_idx_folder(_fake_folder(tmp_path))
    assert x.shape == (6, 28, 28, 1) and xt.shape == (4, 28, 28, 1) and y.shape == (6,)


def test_missing_files_name_them_and_the_fix(tmp_path):
    folder = _fake_folder(tmp_path)
    (folder / FASHION_FILES["test_labels"]).unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz.*apt-get install dataset-fashion-mnist"):
        load_idx_folder(folder)


def test_truncated_file_is_reported(tmp_path):
    folder = _fake_folder(tmp_path)
    path = folder / FASHION_FILES["train_images"]
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_idx_folder(folder)


def test_corrupt_gzip_and_wrong_magic(tmp_path):
    folder = _fake_folder(tmp_path)
    path = folder / FASHION_FILES["train_images"]
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DataError, match="cannot be read"):
        load_idx_folder(folder)
    intact = gzip.compress(np.arange(4000, dtype=np.uint32).tobytes())  # deflate data, then garbage
    path.write_bytes(intact[:20] + bytes([0xFF] * 200) + intact[220:])
    with pytest.raises(DataError, match="cannot be read"):  # a zlib.error, not a traceback
        load_idx_folder(folder)
    shutil.copy(folder / FASHION_FILES["test_labels"], tmp_path / "labels.gz")
    with pytest.raises(DataError, match="not an IDX images"):
        read_idx(tmp_path / "labels.gz", IMAGE_MAGIC)


def test_label_image_count_mismatch(tmp_path):
    folder = _fake_folder(tmp_path)
    _write_idx(folder / FASHION_FILES["train_labels"], np.zeros(5), 2049)
    with pytest.raises(DataError, match="6 images but 5 labels"):
        load_idx_folder(folder)


def test_tfds_failure_is_one_clear_error(tmp_path):
    with pytest.raises(DataError) as err:
        load_tfds(dataset_info("cifar10"), data_dir=str(tmp_path), download=False)
    message = str(err.value)
    assert "cifar10" in message and str(tmp_path) in message and "Fix:" in message


def test_folder_source_is_only_for_fashion_mnist():
    with pytest.raises(DataError, match="data.source=tfds"):
        load_arrays(dataset_info("cifar10"), source="folder")
