"""Test set-up: quiet TF logs, two logical CPUs (for the replica tests), seeded randomness."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import config as tf_config  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    # A run with --deterministic turns op determinism on for the whole process (as it should in
    # a CLI); tests share one process, so each starts without it.
    tf_config.disable_op_determinism()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~20 s (still run in CI)")
