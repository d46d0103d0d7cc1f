"""Every tensorflow-datasets data set of the catalog, prepared by tfds's real builder from an archive
in the format that builder downloads, then the path a user walks first on it: our loader, the
default preset (AGAIN-PGD-AT) trained at tiny size, its evaluation, the export, and one prediction
through the exported SavedModel.

Only the HTTP request is replaced (``tests/data/tfds_archives.serve``): tfds's ``_open_url`` reads
the local archive instead of the host, and the download manager is told the archive's own size
and sha256 as the expected checksum, since a small archive cannot match the real file's registered
one; tfds's validation then still checks the served bytes, and everything else runs: the builder's
checksum file is read, the archive extracted, the real builder parses it and tfds writes the
prepared copy. So these tests fail as a user's first run would, e.g. without
``importlib_resources`` (tensorflow/datasets#11212). tfds writes the examples in another order than
the archive's (it shuffles by a hash of each key), so splits are compared as sorted pairs.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import CATALOG, FASHION_MNIST_DIR, dataset_info, load_arrays, load_idx_folder
from serving.export import main as export
from serving.signatures import SERVING_DEFAULT
from tests.data import tfds_archives
from training.train import main as train

WRITERS = {
    "cifar10": tfds_archives.write_cifar10,
    "cifar100": tfds_archives.write_cifar100,
    "svhn_cropped": tfds_archives.write_svhn,
    "mnist": tfds_archives.write_mnist,
}
BACKBONE = {"cifar10": ["--backbone", "resnet18"]}  # the default preset's own network where affordable
TINY_CNN = ["--backbone", "small_cnn", "--model.widths", "4,4,4"]
TEST_EXAMPLES = 16
needs_fashion = pytest.mark.skipif(not Path(FASHION_MNIST_DIR).is_dir(),
                                   reason="Debian's dataset-fashion-mnist is not installed")


def test_the_catalog_is_covered():
    assert set(CATALOG) == {*WRITERS, "fashion_mnist"}


@pytest.fixture(scope="module")
def fashion_tfds(tmp_path_factory) -> Path:
    """The real Fashion-MNIST prepared by tfds's fashion_mnist builder from Debian's IDX files
    (the files that builder downloads), once for this module: the tfds data_dir."""
    data_dir = tmp_path_factory.mktemp("fashion_tfds")
    with pytest.MonkeyPatch.context() as monkeypatch:
        archive = tfds_archives.fashion_archive(Path(FASHION_MNIST_DIR))
        served = tfds_archives.serve(monkeypatch, archive.files)
        load_arrays(dataset_info("fashion_mnist"), "tfds", str(data_dir), splits=("test",))
    assert sorted(served.requested) == sorted(served.files)
    return data_dir


@pytest.mark.slow
@needs_fashion
def test_tfds_prepares_the_same_fashion_mnist_as_the_idx_reader(fashion_tfds):
    """Same images with the same labels in both splits; tfds writes them in another order (it
    shuffles examples by a hash of their key), so the pairs are compared as sorted lists."""
    info = dataset_info("fashion_mnist")
    from_tfds = load_arrays(info, "tfds", str(fashion_tfds))
    from_idx = load_idx_folder(FASHION_MNIST_DIR)
    for (x, y), (x_idx, y_idx), count in zip(from_tfds, from_idx, (60000, 10000)):
        assert x.shape == x_idx.shape == (count, 28, 28, 1) and x.dtype == x_idx.dtype == np.uint8
        assert np.bincount(y).tolist() == np.bincount(y_idx).tolist() == [count // 10] * 10
        assert tfds_archives.as_rows((x, y)) == tfds_archives.as_rows((x_idx, y_idx))
        assert not np.array_equal(y, y_idx)  # the order differs: a multiset, not a sequence, is kept


def _prepare(name: str, tmp_path: Path, monkeypatch) -> Path:
    """Writes ``name``'s archive, has tfds download (served) and prepare it through our loader, and
    checks the loaded splits hold exactly the archive's examples; returns the tfds data_dir."""
    archive = WRITERS[name](tmp_path / "archive")
    served = tfds_archives.serve(monkeypatch, archive.files)
    data_dir = tmp_path / "tfds"
    data_dir.mkdir()
    loaded = load_arrays(dataset_info(name), "tfds", str(data_dir))
    assert sorted(served.requested) == sorted(archive.files)  # each file fetched once, nothing else
    for (x, y), split in zip(loaded, ("train", "test")):
        expected = archive.splits[split]
        assert x.shape == expected[0].shape and x.dtype == np.uint8 and y.dtype == np.int64
        assert tfds_archives.as_rows((x, y)) == tfds_archives.as_rows(expected), split
    return data_dir


def _train_and_export(name: str, data_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The default preset through the training CLI at tiny size, then the export CLI: (run folder,
    SavedModel version folder)."""
    args = ["--dataset", name, "--data.source", "tfds", "--data-dir", str(data_dir),
            *BACKBONE.get(name, TINY_CNN), "--epochs", "1", "--optim.steps_per_epoch", "2",
            "--batch-size", "8", "--data.val_examples", "8", "--data.test_examples", str(TEST_EXAMPLES),
            "--eval.val_pgd_steps", "2", "--eval.test_pgd_steps", "2", "--verbose", "0",
            "--output-dir", str(tmp_path / "runs"), "--name", "run"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert train(args) == 0
        run = tmp_path / "runs" / "run"
        assert export([str(run), "--base-dir", str(tmp_path / "serving")]) == 0
    return run, tmp_path / "serving" / "again" / "1"


def _check_run_and_prediction(name: str, run: Path, version_dir: Path, data_dir: Path) -> None:
    """The run evaluated the test subset, and the SavedModel's serving signature predicts what the
    Keras checkpoint predicts on the data set's own test images."""
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "paper-resnet18" and config["objective"]["method"] == "pgd_at"
    assert config["again"]["ase"] and config["again"]["hff"]  # AGAIN-PGD-AT, the default
    final = json.loads((run / "final.json").read_text())
    pgd = final["steps"]
    assert pgd == 2 and 0.0 <= final["clean_accuracy"] <= 1.0 and 0.0 <= final[f"pgd{pgd}_accuracy"] <= 1.0
    assert round(final["clean_accuracy"] * TEST_EXAMPLES, 6).is_integer()  # a share of 16 images
    info = dataset_info(name)
    images = load_arrays(info, "tfds", str(data_dir), splits=("test",))[0][0][:TEST_EXAMPLES] / 255.0
    images = images.astype(np.float32)
    served = tf.saved_model.load(str(version_dir)).signatures[SERVING_DEFAULT](images=tf.constant(images))
    model = keras.models.load_model(run / "checkpoints" / "best_robust.keras", compile=False)
    logits = model(images, training=False).numpy()
    assert served["logits"].shape == (TEST_EXAMPLES, info.num_classes)
    assert np.max(np.abs(served["logits"].numpy() - logits)) <= 1e-5
    np.testing.assert_array_equal(served["classes"].numpy(), logits.argmax(axis=1))
    names = [n.decode() for n in served["class_names"].numpy()]
    assert names == [info.class_names[k] for k in logits.argmax(axis=1)]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(WRITERS))
def test_a_tfds_data_set_prepares_trains_exports_and_serves(name, tmp_path, monkeypatch):
    data_dir = _prepare(name, tmp_path, monkeypatch)
    run, version_dir = _train_and_export(name, data_dir, tmp_path)
    _check_run_and_prediction(name, run, version_dir, data_dir)


@pytest.mark.slow
@needs_fashion
def test_fashion_mnist_from_tfds_trains_exports_and_serves(fashion_tfds, tmp_path):
    run, version_dir = _train_and_export("fashion_mnist", fashion_tfds, tmp_path)
    _check_run_and_prediction("fashion_mnist", run, version_dir, fashion_tfds)
