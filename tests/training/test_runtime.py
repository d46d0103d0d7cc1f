"""Runtime options of training.train: strategy, determinism, non-finite loss, disk space."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine.checkpoints import load_trained_model, resolve_source
from again_tf.engine.distribution import cluster_size
from again_tf.errors import ConfigError
from tests.training.helpers import TINY, xla_flags
from training.train import main


@pytest.mark.slow
def test_same_seed_and_deterministic_give_identical_metrics(tmp_path):
    for name in ("a", "b"):
        assert main(TINY + ["--output-dir", str(tmp_path), "--name", name, "--deterministic",
                            "--seed", "7"]) == 0
    a, b = ((tmp_path / n / "metrics.csv").read_text() for n in ("a", "b"))
    assert a == b and a.count("\n") == 3


@pytest.mark.slow
def test_a_non_finite_loss_stops_before_saving_and_keeps_the_last_good_epoch(tmp_path, capsys):
    exploding = ["--optim.lr_milestones", "1", "--optim.lr_factor", "1e30", "--epochs", "3"]
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "nan"] + exploding) == 2
    err = capsys.readouterr().err
    assert re.search(r"error: the training loss became (nan|inf) at optimizer step \d+ \(epoch [23], ", err)
    assert "last.keras holds the last good epoch and" in err and "Traceback" not in err
    model = keras.models.load_model(tmp_path / "nan" / "checkpoints" / "last.keras")
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus_trains(tmp_path, recorded_fit):
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "m", "--strategy", "mirrored"]) == 0
    assert (tmp_path / "m" / "final.json").is_file()
    strategy = recorded_fit["model"].distribute_strategy  # the model the run trained
    assert isinstance(strategy, tf.distribute.MirroredStrategy) and strategy.num_replicas_in_sync == 2
    assert sorted(d.rsplit("/", 1)[-1] for d in strategy.extended.worker_devices) == [
        "device:CPU:0", "device:CPU:1"]


@pytest.mark.parametrize("args,message", [
    (["--strategy", "tpu"], "runtime.strategy: got 'tpu'; allowed: auto, default, mirrored, multi_worker"),
    (["--strategy", "multi_worker"], "needs TF_CONFIG with a cluster"),
    (["--runtime.min_free_disk_mb", "1000000000"], "MB free at"),
])
def test_bad_runtime_settings_are_one_clear_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(TINY + ["--output-dir", str(tmp_path)] + args) == 2
    assert message in capsys.readouterr().err


def test_tf_config_cluster_size(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, '
                                    '"task": {"type": "worker", "index": 0}}')
    assert cluster_size() == 2
    monkeypatch.setenv("TF_CONFIG", "not json")
    with pytest.raises(ConfigError, match="TF_CONFIG: not a JSON object"):
        cluster_size()


@pytest.mark.slow
def test_mixed_precision_trains_in_bfloat16_and_is_evaluated_in_float32(tmp_path):
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "mp", "--mixed-precision"]) == 0
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    source = resolve_source(tmp_path / "mp", "last")
    trained = keras.models.load_model(source.checkpoint, compile=False)
    assert trained.dtype_policy.name == "mixed_bfloat16"
    evaluated = load_trained_model(source, dataset_info("fashion_mnist"))
    assert evaluated.dtype_policy.name == "float32"
    x = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype("float32")
    half, full = trained(x, training=False), evaluated(x, training=False)
    assert half.dtype == "float32" and full.dtype == "float32"  # the head is a float32 layer
    assert np.mean(np.argmax(half, 1) == np.argmax(full, 1)) >= 0.9
    rows = (tmp_path / "mp" / "metrics.csv").read_text().splitlines()
    assert "nan" not in rows[-1].lower()


@pytest.mark.slow
def test_jit_compile_trains_and_says_when_keras_turns_it_off(tmp_path, capsys, recorded_fit):
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "xla", "--jit-compile"]) == 0
    assert "turned XLA off" not in capsys.readouterr().out
    model = recorded_fit["model"]  # the model the run trained: its train step was compiled by XLA
    flags = xla_flags(model)
    assert model.jit_compile and flags and all(flags), flags
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "xla-det", "--jit-compile",
                        "--deterministic"]) == 0
    assert "Keras turned XLA off for this model" in capsys.readouterr().out
    model = recorded_fit["model"]
    flags = xla_flags(model)
    assert not model.jit_compile and flags and not any(flags), flags
