import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from again_tf.config import DataConfig
from again_tf.data import load_data, load_idx_folder, make_dataset
from again_tf.data.pipeline import crop_flip
from again_tf.errors import DataError
from tests.conftest import FASHION_DIR


def _arrays(n=20, shape=(32, 32, 3)):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), rng.integers(0, 10, n)


def test_batches_are_float_in_unit_range_and_train_drops_the_remainder():
    x, y = _arrays()
    train = list(make_dataset(x, y, 8, training=True, augmentation="crop_flip", seed=1).take(4))
    test = list(make_dataset(x, y, 8, training=False))
    assert [len(b[0]) for b in train] == [8, 8, 8, 8] and [len(b[0]) for b in test] == [8, 8, 4]
    images = np.concatenate([b[0].numpy() for b in test])
    np.testing.assert_allclose(images, x / 255.0, rtol=1e-6)
    assert train[0][0].dtype == tf.float32 and train[0][1].dtype == tf.int32
    one_pass = np.concatenate([b[1].numpy() for b in train[:2]])  # 2 batches of 8 per pass of 20
    assert len(set(one_pass.tolist())) <= 10 and len(one_pass) == 16


def _labels(ds, batches):
    return [labels.numpy().tolist() for _, labels in ds.take(batches)]


def test_the_stream_is_a_function_of_seed_and_step():
    x, y = np.arange(20, dtype=np.uint8).reshape(20, 1, 1, 1).repeat(4, 1).repeat(4, 2), np.arange(20)
    a = make_dataset(x, y, 4, training=True, seed=7)
    stream = _labels(a, 15)  # three passes of five batches
    assert stream == _labels(make_dataset(x, y, 4, training=True, seed=7), 15)
    assert stream == _labels(a, 15)  # iterating again gives the same stream (no stateful reshuffle)
    passes = [sorted(sum(stream[5 * k:5 * k + 5], [])) for k in range(3)]
    assert passes == [list(range(20))] * 3  # each pass holds every example once
    assert stream[:5] != stream[5:10] and stream[:5] != _labels(make_dataset(x, y, 4, True, seed=8), 5)
    assert _labels(make_dataset(x, y, 4, training=True, seed=7, start_step=7), 8) == stream[7:15]


def test_crop_flip_keeps_shape_and_moves_content():
    image = tf.random.uniform((32, 32, 3))
    outs = [crop_flip(image, tf.constant([0, i], tf.int64)) for i in range(10)]
    assert all(o.shape == (32, 32, 3) for o in outs)
    assert any(not np.allclose(o.numpy(), image.numpy()) for o in outs)


def test_load_data_from_the_fashion_folder():
    bundle = load_data(DataConfig(dataset="fashion_mnist", batch_size=64, train_examples=256,
                                  val_examples=128, test_examples=100), seed=0)
    x, y = next(iter(bundle.train))
    assert x.shape == (64, 28, 28, 1) and bundle.info.num_classes == 10
    assert bundle.train_size == 256 and bundle.test_size == 100


def test_batch_larger_than_the_data_is_a_clear_error():
    with pytest.raises(DataError, match="batch_size=512 exceeds the 100"):
        load_data(DataConfig(dataset="fashion_mnist", batch_size=512, train_examples=100))


def _val_images(data) -> np.ndarray:
    return np.round(np.concatenate([x.numpy() for x, _ in data.val]) * 255).astype(np.uint8)


def _rows(images: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in images}


def test_by_default_validation_is_held_out_training_data_never_test_images():
    """Checked by content: the default validation images are training-file images that the run
    never trains on, and none of them is a test image (Fashion-MNIST has no image in both files)."""
    config = DataConfig(dataset="fashion_mnist", batch_size=50)
    data = load_data(config, seed=3)
    (all_train, _), (all_test, _) = load_idx_folder(FASHION_DIR)
    val = _val_images(data)
    assert len(val) == config.val_examples == 1000
    assert data.train_size == len(all_train) - 1000
    assert _rows(val) <= _rows(all_train)
    assert not _rows(val) & _rows(data.train_arrays[0]) and not _rows(val) & _rows(all_test)
    assert data.split["val_source"] == "holdout" and data.split["val_examples"] == 1000


def test_the_split_depends_on_split_seed_only_and_train_examples_does_not_move_it():
    base = DataConfig(dataset="fashion_mnist", batch_size=50, val_examples=100)
    first, other_seed = load_data(base, seed=0), load_data(base, seed=9)
    fewer = load_data(dataclasses.replace(base, train_examples=500), seed=0)
    moved = load_data(dataclasses.replace(base, split_seed=1), seed=0)
    np.testing.assert_array_equal(_val_images(first), _val_images(other_seed))
    np.testing.assert_array_equal(_val_images(first), _val_images(fewer))
    assert fewer.train_size == 500 and fewer.split["train_examples"] == 500
    assert first.split["val_fingerprint"] == fewer.split["val_fingerprint"] != moved.split["val_fingerprint"]
    assert not np.array_equal(_val_images(first), _val_images(moved))


def test_validating_on_test_images_is_explicit_and_recorded():
    config = DataConfig(dataset="fashion_mnist", batch_size=50, train_examples=600, val_source="test",
                        val_examples=100)
    data = load_data(config, seed=3)
    np.testing.assert_array_equal(_val_images(data), data.test_arrays[0][:100])
    assert data.train_size == 600 and data.split == {
        "val_source": "test", "val_examples": 100, "train_examples": 600, "train_split_examples": 60000}
    with pytest.raises(DataError, match="val_examples=60000 leaves no training data"):
        load_data(DataConfig(dataset="fashion_mnist", val_examples=60000), seed=3)


def test_without_the_test_split_validation_is_the_holdout_and_test_is_none():
    config = DataConfig(dataset="fashion_mnist", train_examples=600, val_examples=100, batch_size=50)
    with_test, without = load_data(config, seed=3), load_data(config, seed=3, read_test=False)
    assert without.test is None and without.test_arrays is None and without.test_size == 0
    np.testing.assert_array_equal(without.train_arrays[0], with_test.train_arrays[0])
    np.testing.assert_array_equal(_val_images(with_test), _val_images(without))
    with pytest.raises(DataError, match="data.val_source=test reads test images"):
        load_data(DataConfig(dataset="fashion_mnist", val_source="test"), read_test=False)
