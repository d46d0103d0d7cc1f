"""tf.data pipelines: [0, 1] float images, seeded shuffling and augmentation, prefetch."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from again_tf.config.schema import DataConfig
from again_tf.data.catalog import DatasetInfo, dataset_info
from again_tf.data.sources import load_arrays
from again_tf.errors import DataError


def crop_flip(image: tf.Tensor, seed: tf.Tensor, padding: int = 4) -> tf.Tensor:
    """Random crop after zero padding, then random horizontal flip (torchvision's defaults)."""
    shape = tf.shape(image)
    padded = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
    seeds = tf.random.experimental.stateless_split(seed, 2)
    cropped = tf.image.stateless_random_crop(padded, shape, seed=seeds[0])
    return tf.image.stateless_random_flip_left_right(cropped, seed=seeds[1])


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    training: bool,
    augmentation: str = "none",
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """Batches of ``(float32 images in [0, 1], int32 labels)``.

    Evaluation data: one pass, in order. Training data: an endless stream of passes, each
    shuffled by ``(seed, pass)`` rather than by a stateful reshuffle, with the last partial batch
    of each pass dropped (every step sees a full global batch); ``start_step`` starts the stream
    at that global batch, so a resumed run sees exactly the batches it would have seen.
    Augmentation draws are stateless too, keyed by the seed and the example's place in the stream.
    """
    if not training:  # iterated every epoch (validation): decoded once, then cached
        base = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
        return _finish(base.map(lambda image, label: (tf.cast(image, tf.float32) / 255.0, label),
                                num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).cache())
    count, per_pass = len(images), len(images) // batch_size
    all_images, all_labels = tf.constant(images), tf.constant(labels.astype(np.int32))

    def one_pass(epoch):
        # A stateless permutation: Dataset.shuffle wants a Python seed under op determinism.
        keys = tf.random.stateless_uniform([count], tf.stack([tf.constant(seed, tf.int64), epoch]),
                                           dtype=tf.int64, minval=None, maxval=None)
        order = tf.argsort(keys, stable=True)

        def example(index, position):
            image = tf.cast(tf.gather(all_images, position), tf.float32) / 255.0
            if augmentation == "crop_flip":
                image = crop_flip(image, tf.stack([tf.cast(seed, tf.int64), epoch * count + index]))
            return image, tf.gather(all_labels, position)

        positions = tf.data.Dataset.from_tensor_slices(order).enumerate()
        mapped = positions.map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return mapped.batch(batch_size, drop_remainder=True)

    first_pass, within = divmod(start_step, per_pass)
    return _finish(tf.data.Dataset.range(first_pass, 2**62).flat_map(one_pass).skip(within))


def _finish(ds: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()  # in-memory data: multi-worker sharding splits batches, not files
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


@dataclass(frozen=True)
class DataBundle:
    info: DatasetInfo
    train: tf.data.Dataset  # the endless training stream from step 0 (see ``train_from``)
    val: tf.data.Dataset  # per-epoch validation: held-out training examples, or test images
    test: tf.data.Dataset | None  # None when the test split was not read (tuning)
    train_size: int
    test_size: int
    train_arrays: tuple[np.ndarray, np.ndarray] | None = None  # uint8 images, labels (analysis)
    test_arrays: tuple[np.ndarray, np.ndarray] | None = None
    batch_size: int = 0
    augmentation: str = "none"
    seed: int = 0
    split: dict = field(default_factory=dict)  # what validation is: ``validation_split`` below

    def train_from(self, step: int) -> tf.data.Dataset:
        """The training stream from global step ``step`` (resuming)."""
        return make_dataset(*self.train_arrays, self.batch_size, True, self.augmentation, self.seed, step)


def _take(arrays, count):
    x, y = arrays
    return (x, y) if count is None else (x[:count], y[:count])


def hold_out(count: int, total: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of a seeded split of ``total`` training examples: (kept, ``count`` held out)."""
    if count >= total:
        raise DataError(f"data.val_examples={count} leaves no training data ({total} training "
                        f"examples); hold out fewer.")
    order = np.random.default_rng(seed).permutation(total)
    return np.sort(order[count:]), np.sort(order[:count])


def fingerprint(indices: np.ndarray) -> str:
    """A short hash of which examples were held out: equal splits, equal fingerprints."""
    return hashlib.sha256(np.asarray(indices, np.int64).tobytes()).hexdigest()[:16]


def validation_split(config: DataConfig, train_total: int, held: np.ndarray | None, val_size: int,
                     train_size: int) -> dict:
    """What the run validated on, for the run folder and every report."""
    split = {"val_source": config.val_source, "val_examples": val_size, "train_examples": train_size,
             "train_split_examples": train_total}
    if held is not None:
        split.update(split_seed=config.split_seed, val_fingerprint=fingerprint(held))
    return split


def _split_train(config: DataConfig, train, test_arrays):
    """(training arrays, validation arrays, split record) by ``data.val_source``."""
    total = len(train[0])
    if config.val_source == "holdout":
        kept, held = hold_out(config.val_examples, total, config.split_seed)
        val, train = (train[0][held], train[1][held]), (train[0][kept], train[1][kept])
    else:
        held, val = None, _take(test_arrays, config.val_examples)
    train = _take(train, config.train_examples)
    return train, val, validation_split(config, total, held, len(val[0]), len(train[0]))


def load_data(config: DataConfig, seed: int = 0, read_test: bool = True) -> DataBundle:
    """Loads the configured data set and builds the train, validation and test pipelines.

    Validation is held out from the training split before ``train_examples`` is taken, so it does
    not change with the training subset. ``read_test=False`` (tuning) never reads the test split
    and needs ``val_source=holdout``; ``test`` is then None.
    """
    info = dataset_info(config.dataset)
    if not read_test and config.validates_on_test:
        raise DataError("data.val_source=test reads test images; this command validates on training "
                        "data only: use data.val_source=holdout.")
    arrays = load_arrays(info, config.source, config.data_dir, ("train", "test") if read_test else ("train",))
    if tuple(arrays[0][0].shape[1:]) != info.image_shape:
        raise DataError(
            f"{config.dataset}: images have shape {arrays[0][0].shape[1:]}, expected {info.image_shape}."
        )
    test = _take(arrays[1], config.test_examples) if read_test else None
    train, val, split = _split_train(config, arrays[0], arrays[1] if read_test else None)
    if len(train[0]) < config.batch_size:
        raise DataError(
            f"data.batch_size={config.batch_size} exceeds the {len(train[0])} training examples; "
            f"lower the batch size or raise data.train_examples."
        )
    aug = info.augmentation if config.augment else "none"
    return DataBundle(
        info=info,
        train=make_dataset(*train, config.batch_size, True, aug, seed),
        val=make_dataset(*val, config.batch_size, False),
        test=None if test is None else make_dataset(*test, config.batch_size, False),
        train_size=len(train[0]),
        test_size=0 if test is None else len(test[0]),
        train_arrays=train,
        test_arrays=test,
        batch_size=config.batch_size,
        augmentation=aug,
        seed=seed,
        split=split,
    )
