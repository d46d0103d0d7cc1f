"""Test set-up: quiet TF logs, two logical CPUs (for the replica tests), seeded randomness, the
markers, and the fixtures several packages share (one tiny CLI run, one trained AGAIN model, a
spy on Model.fit)."""

import contextlib
import io
import os
from types import SimpleNamespace

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
    config.addinivalue_line("markers", "slow: takes more than ~2 s, or needs a fixture that trains a "
                                       "model; -m 'not slow' is the fast subset (CI runs everything)")


# Fixtures that train a model (directly or through another): every test that uses one is slow.
TRAINING_FIXTURES = {"tiny_run", "trained_again", "fashion_cnn"}


def pytest_collection_modifyitems(items):
    for item in items:
        if TRAINING_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny quickstart run (2 epochs of 2 steps, every monitor on), trained once for the
    training-CLI, analysis, evaluation and serving tests: ``dir`` (its folder) and ``out`` (what
    it printed). Tests that write into a run folder other than its monitors work on a copy."""
    from tests.training.helpers import MONITORS, TINY
    from training.train import main as train

    root = tmp_path_factory.mktemp("shared_run")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert train(TINY + MONITORS + ["--output-dir", str(root), "--name", "run"]) == 0
    return SimpleNamespace(dir=root / "run", out=printed.getvalue())


@pytest.fixture(scope="session")
def trained_again():
    """AGAIN-PGD-AT (the engine tests' tiny config: widths 8,16,16, PGD-2) trained once, 256 steps
    of 32 real Fashion-MNIST images at lr 0.05, for the engine and evaluation tests: ``model``,
    the epoch's training ``loss``, and the first 500 test images ``x``, ``y``. Tests that change
    the model's evaluation attack put it back (``tests.engine.helpers.eval_attack``)."""
    from again_tf.data import dataset_info
    from again_tf.engine import build_model, compile_model
    from tests.engine.helpers import fashion, tiny_config

    keras.utils.set_random_seed(0)
    config = tiny_config(**{"optim.lr": "0.05", "optim.lr_milestones": ""})
    x, y, xt, yt = fashion(32 * 256, 500)
    model = compile_model(build_model(config, dataset_info("fashion_mnist")), config, steps_per_epoch=256)
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    return SimpleNamespace(model=model, loss=history.history["loss"][0], x=xt, y=yt)


@pytest.fixture
def recorded_fit(monkeypatch):
    """keras.Model.fit (the real one), recording the model, data and validation data of the last
    call: what a CLI run actually trained, on what."""
    seen, real_fit = {}, keras.Model.fit

    def fit(model, x=None, *args, validation_data=None, **kwargs):
        seen.update(model=model, train=x, val=validation_data)
        return real_fit(model, x, *args, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit)
    return seen
