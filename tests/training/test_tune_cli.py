import json

import keras_tuner as kt
import pytest

from again_tf.config import get_preset
from tests.training.test_train_cli import TINY
from training.train import main as train
from training.tune import AgainHyperModel, main, search_space, with_holdout

SMALL = TINY + ["--data.train_examples", "320", "--data.holdout_examples", "64", "--data.test_examples", "1"]


@pytest.mark.slow
def test_a_tiny_search_writes_a_best_config_that_trains_and_resumes(tmp_path, capsys):
    args = SMALL + ["--tuner", "bayesian", "--max-trials", "2", "--tune-epochs", "1",
                    "--directory", str(tmp_path), "--project", "p"]
    assert main(args) == 0
    best = tmp_path / "p" / "best_config.json"
    config = json.loads(best.read_text())
    assert 0.5 <= config["again"]["alpha"] <= 0.9 and config["data"]["holdout_examples"] == 64
    assert "val_robust_accuracy" in capsys.readouterr().out
    trials = sorted(p.name for p in (tmp_path / "p").glob("trial_*"))
    assert len(trials) == 2
    assert main(args) == 0  # resumed: the two finished trials are kept, none is added
    assert sorted(p.name for p in (tmp_path / "p").glob("trial_*")) == trials
    assert train(["--config", str(best), "--output-dir", str(tmp_path), "--name", "best"]) == 0


def test_the_objective_is_validated_on_held_out_training_data():
    config = with_holdout(get_preset("quickstart"))
    assert config.data.holdout_examples == 5000
    hp = kt.HyperParameters()
    overrides = search_space(hp)
    assert set(overrides) == {"again.alpha", "again.beta_aux", "again.hff_probability",
                              "again.hff_concentration", "optim.lr", "optim.weight_decay"}
    assert AgainHyperModel(config, None, 1).config(hp).data.holdout_examples == 5000


def test_an_unknown_tuner_is_a_clear_error(capsys):
    assert main(SMALL + ["--tuner", "random"]) == 2
    assert "--tuner: got 'random'; allowed: hyperband, bayesian" in capsys.readouterr().err
