"""Runtime options of training.train: strategy, determinism, non-finite loss, disk space."""

import re

import keras
import numpy as np
import pytest

from again_tf.engine.distribution import cluster_size, make_strategy
from again_tf.errors import ConfigError
from tests.training.test_train_cli import TINY
from training.train import main


def test_same_seed_and_deterministic_give_identical_metrics(tmp_path):
    for name in ("a", "b"):
        assert main(TINY + ["--output-dir", str(tmp_path), "--name", name, "--deterministic",
                            "--seed", "7"]) == 0
    a, b = ((tmp_path / n / "metrics.csv").read_text() for n in ("a", "b"))
    assert a == b and a.count("\n") == 3


def test_a_non_finite_loss_stops_before_saving_and_keeps_the_last_good_epoch(tmp_path, capsys):
    exploding = ["--optim.lr_milestones", "1", "--optim.lr_factor", "1e30", "--epochs", "3"]
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "nan"] + exploding) == 2
    err = capsys.readouterr().err
    assert re.search(r"error: the training loss became (nan|inf) at optimizer step \d+ \(epoch [23], ", err)
    assert "last.keras holds the last good epoch" in err and "Traceback" not in err
    model = keras.models.load_model(tmp_path / "nan" / "checkpoints" / "last.keras")
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_mirrored_strategy_over_two_logical_cpus_trains(tmp_path, capsys):
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "m", "--strategy", "mirrored"]) == 0
    assert (tmp_path / "m" / "final.json").is_file()
    assert make_strategy("mirrored").num_replicas_in_sync == 2


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
