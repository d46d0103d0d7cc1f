"""Data: the catalog of data sets, IDX and tfds sources, and tf.data pipelines."""

from again_tf.data.catalog import CATALOG, FASHION_MNIST_DIR, DatasetInfo, dataset_info
from again_tf.data.idx import load_idx_folder, read_idx
from again_tf.data.pipeline import DataBundle, load_data, make_dataset
from again_tf.data.sources import load_arrays, load_tfds

__all__ = [
    "CATALOG", "FASHION_MNIST_DIR", "DataBundle", "DatasetInfo", "dataset_info", "load_arrays",
    "load_data", "load_idx_folder", "load_tfds", "make_dataset", "read_idx",
]
