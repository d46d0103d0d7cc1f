import numpy as np
import pytest
import tensorflow as tf

from again_tf.config import DataConfig
from again_tf.data import load_data, make_dataset
from again_tf.data.pipeline import crop_flip
from again_tf.errors import DataError


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


def test_holdout_validates_on_training_examples_never_on_the_test_split():
    config = DataConfig(dataset="fashion_mnist", train_examples=600, holdout_examples=100, batch_size=50)
    data = load_data(config, seed=3)
    assert data.train_size == 500
    train_x, _ = data.train_arrays
    val_x = np.concatenate([x.numpy() for x, _ in data.val])
    assert len(val_x) == 100
    train_rows = {row.tobytes() for row in train_x}
    test_rows = {row.tobytes() for row in data.test_arrays[0]}
    held = [np.round(row * 255).astype(np.uint8).tobytes() for row in val_x]
    assert not any(h in train_rows for h in held) and not any(h in test_rows for h in held)
    with pytest.raises(DataError, match="holdout_examples=600 leaves no training data"):
        load_data(DataConfig(dataset="fashion_mnist", train_examples=600, holdout_examples=600), seed=3)


def test_without_the_test_split_validation_is_the_holdout_and_test_is_none():
    config = DataConfig(dataset="fashion_mnist", train_examples=600, holdout_examples=100, batch_size=50)
    with_test, without = load_data(config, seed=3), load_data(config, seed=3, read_test=False)
    assert without.test is None and without.test_arrays is None and without.test_size == 0
    np.testing.assert_array_equal(without.train_arrays[0], with_test.train_arrays[0])
    val = [np.concatenate([x.numpy() for x, _ in d.val]) for d in (with_test, without)]
    np.testing.assert_array_equal(*val)
    with pytest.raises(DataError, match="validation needs data.holdout_examples > 0"):
        load_data(DataConfig(dataset="fashion_mnist"), read_test=False)
