import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from again_tf.config import apply_overrides, get_preset
from again_tf.config.schema import DataConfig
from again_tf.config.tuning import Budget
from again_tf.data import load_data
from again_tf.data.idx import FASHION_FILES, IMAGE_MAGIC, read_idx
from again_tf.errors import DataError
from again_tf.run.tune import AgainHyperModel, make_tuner
from tests.conftest import FASHION_DIR
from tests.training.helpers import TINY
from training.train import main as train
from training.tune import main

# The tuner never reads the test split; test_examples is for training the best config (1 image fails).
SMALL = TINY + ["--data.train_examples", "320", "--data.test_examples", "2"]


def trials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("trial_*"))


@pytest.mark.slow
def test_a_tiny_search_writes_a_best_config_that_trains_and_resumes(tmp_path, capsys):
    args = SMALL + ["--tuner", "bayesian", "--max-trials", "2", "--tune-epochs", "1",
                    "--directory", str(tmp_path), "--project", "p"]
    assert main(args) == 0
    best = tmp_path / "p" / "best_config.json"
    config = json.loads(best.read_text())
    assert 0.5 <= config["again"]["alpha"] <= 0.9
    assert config["data"]["val_source"] == "holdout"  # the final training validates on the same split
    assert "val_robust_accuracy" in capsys.readouterr().out
    assert len(trials(tmp_path / "p")) == 2
    done = trials(tmp_path / "p")
    assert main(args) == 0  # resumed: the two finished trials are kept, none is added
    assert trials(tmp_path / "p") == done
    assert train(["--config", str(best), "--output-dir", str(tmp_path), "--name", "best"]) == 0
    assert "Test (2 images)" in capsys.readouterr().out
    assert json.loads((tmp_path / "best" / "config.json").read_text())["data"] == config["data"]


@pytest.mark.slow
def test_a_minimal_hyperband_search_halves_writes_a_best_config_and_resumes(tmp_path):
    args = SMALL + ["--tuner", "hyperband", "--tune-epochs", "2", "--hyperband-factor", "2",
                    "--directory", str(tmp_path), "--project", "h"]
    assert main(args) == 0
    config = json.loads((tmp_path / "h" / "best_config.json").read_text())
    assert 0.5 <= config["again"]["alpha"] <= 0.9 and config["data"]["val_source"] == "holdout"
    done = trials(tmp_path / "h")
    assert len(done) == 5  # brackets of max 2 epochs, factor 2: 2 trials of 1 epoch -> 1 continued, 2 of 2
    assert main(args) == 0
    assert trials(tmp_path / "h") == done


def rows(images: np.ndarray) -> list[bytes]:
    """Pixel rows of [0, 1] float or uint8 images, as comparable bytes."""
    pixels = images if images.dtype == np.uint8 else np.round(np.asarray(images) * 255).astype(np.uint8)
    return [image.tobytes() for image in pixels.reshape(len(pixels), -1)]


def small_search(tmp_path: Path, project: str, *args: str) -> Path:
    assert main(SMALL + ["--tuner", "bayesian", "--max-trials", "1", "--tune-epochs", "1",
                         "--directory", str(tmp_path), "--project", project, *args]) == 0
    return tmp_path / project


@pytest.mark.slow
def test_the_objective_is_validated_on_held_out_training_data(tmp_path, recorded_fit):
    folder = tmp_path / "train-only"  # the training split alone: reading the test split would fail
    folder.mkdir()
    for key in ("train_images", "train_labels"):
        (folder / FASHION_FILES[key]).symlink_to(Path(FASHION_DIR) / FASHION_FILES[key])
    with pytest.raises(DataError, match="missing t10k"):
        load_data(DataConfig(dataset="fashion_mnist", source="folder", data_dir=str(folder)))
    small_search(tmp_path, "v", "--data.source", "folder", "--data.data_dir", str(folder))
    split = set(rows(read_idx(folder / FASHION_FILES["train_images"], IMAGE_MAGIC)))
    val = rows(np.concatenate([x for x, _ in recorded_fit["val"].as_numpy_iterator()]))
    trained = rows(np.concatenate([x for x, _ in recorded_fit["train"].take(256 // 32).as_numpy_iterator()]))
    assert len(val) == 64 and len(set(trained)) == 256  # within one pass of the 320 kept rows
    assert set(val) <= split and set(trained) <= split and not set(val) & set(trained)


@pytest.mark.slow
def test_the_runtime_flags_reach_the_trials(tmp_path, recorded_fit):
    project = small_search(tmp_path, "r", "--strategy", "mirrored", "--mixed-precision", "--deterministic",
                          "--seed", "7")
    model = recorded_fit["model"]
    assert model.distribute_strategy.num_replicas_in_sync == 2  # conftest's two logical CPUs
    assert model.dtype_policy.name == "mixed_bfloat16" and keras.config.dtype_policy().name == "float32"
    assert tf_config.is_op_determinism_enabled()
    assert json.loads((project / "oracle.json").read_text())["seed"] == 7
    best = json.loads((project / "best_config.json").read_text())
    assert best["seed"] == 7 and best["runtime"]["strategy"] == "mirrored"


def test_the_seed_fixes_the_searched_values(tmp_path):
    """The tuner's first proposals, as ``--seed`` sets them up (no trial is trained; that --seed
    reaches the oracle is test_the_runtime_flags_reach_the_trials')."""
    base = apply_overrides(get_preset("quickstart"), {"model.widths": "8,8,16", "data.train_examples": "64",
                                                      "data.val_examples": "32", "data.batch_size": "16"})
    data = load_data(base.data, 0, read_test=False)

    def values(project: str, seed: int) -> list[dict]:
        config = dataclasses.replace(base, seed=seed)
        hypermodel = AgainHyperModel(config, data, 4)
        strategy = tf.distribute.get_strategy()
        tuner = make_tuner(Budget("bayesian", 1, None, 3), hypermodel, tmp_path, project, strategy)
        return [tuner.oracle.create_trial(f"t{i}").hyperparameters.values for i in range(2)]

    assert values("a", 3) == values("b", 3) != values("c", 4)


@pytest.mark.parametrize("args,message", [
    (["--tuner", "random"], "--tuner: got 'random'; allowed: hyperband, bayesian"),
    (["--tuner", "hyperband", "--max-trials", "20"], "--max-trials: Hyperband's budget is --tune-epochs"),
    (["--tuner", "bayesian", "--hyperband-factor", "2"], "--hyperband-factor: only for --tuner hyperband"),
    (["--strategy", "multi_worker"], "runtime.strategy=multi_worker: training.tune runs its trials in one"),
    (["--runtime.checkpoint_every", "5"], "pass --runtime.checkpoint_every 0"),
    (["--runtime.min_free_disk_mb", "1000000000"], "MB free at"),
])
def test_bad_tuning_input_is_one_clear_line(tmp_path, capsys, args, message):
    assert main(SMALL + ["--directory", str(tmp_path)] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
