import csv
import json
import math

import keras
import numpy as np
import pytest

from again_tf.config import get_preset
from tests.engine.helpers import fashion
from tests.training.helpers import TINY
from training.train import main


@pytest.mark.slow
def test_a_run_writes_its_folder(tiny_run):
    """The shared run: TINY (64 test images, PGD-2) with the monitors on."""
    run = tiny_run.dir
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "quickstart" and config["model"]["widths"] == [8, 8, 16]
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert len(rows) == 2
    for column in ("loss", "loss_base", "loss_aux", "clean_accuracy", "robust_accuracy", "learning_rate",
                   "val_clean_accuracy", "val_robust_accuracy"):
        assert column in rows[0], column
    assert (run / "checkpoints" / "last.keras").is_file()
    assert (run / "checkpoints" / "best_robust.keras").is_file()
    assert list((run / "tensorboard" / "train").glob("events.out.tfevents.*"))
    final = json.loads((run / "final.json").read_text())
    assert final["eps"] == 0.1 and final["steps"] == 2
    split = json.loads((run / "data_split.json").read_text())  # held out from training by default
    assert final["validation"] == split and split["val_source"] == "holdout" and split["val_examples"] == 64
    assert not any("test images" in w for w in final.get("warnings", []))
    # The final weights (last.keras) recomputed on the first 64 test images, independently of the run.
    _, _, xt, yt = fashion(1, 64)
    model = keras.models.load_model(run / "checkpoints" / "last.keras", compile=False)
    correct = np.argmax(model(xt, training=False).numpy(), axis=1) == yt
    assert final["clean_accuracy"] == pytest.approx(correct.mean(), abs=1e-6)
    # PGD-2 keeps an example at the first iterate that fools the model: a count of the 64 images,
    # none of them added to the clean ones here.
    assert final["pgd2_accuracy"] <= final["clean_accuracy"]
    assert math.isclose(64 * final["pgd2_accuracy"], round(64 * final["pgd2_accuracy"]), abs_tol=1e-4)
    assert f"Test (64 images): clean {100 * final['clean_accuracy']:.2f}%" in tiny_run.out


@pytest.mark.slow
def test_the_written_config_reproduces_the_run_config(tmp_path):
    assert main(TINY + ["--output-dir", str(tmp_path), "--name", "a", "--method", "again_trades",
                        "--epochs", "1"]) == 0
    written = tmp_path / "a" / "config.json"
    from again_tf.config import load_config_file

    config = load_config_file(written, get_preset("paper-resnet18"))
    assert config.method == "again_trades" and config.attack.steps == 1 and config.optim.epochs == 1


@pytest.mark.slow
def test_a_one_image_test_split_evaluates_and_validating_on_test_images_is_marked(tmp_path, capsys):
    """The worst-case cascade calls no attack on an empty batch of survivors (graph and eager); a
    run told to validate on test images says so in final.json and on the console."""
    args = ["--output-dir", str(tmp_path), "--name", "r", "--epochs", "1", "--data.test_examples", "1",
            "--data.val_source", "test"]
    assert main(TINY + args) == 0
    out = capsys.readouterr().out
    assert "Test (1 images): clean" in out and "validation used 64 test images" in out
    final = json.loads((tmp_path / "r" / "final.json").read_text())
    assert final["validation"]["val_source"] == "test"
    assert any("best_robust.keras and the robustness-drop warning were chosen on test images" in w
               for w in final["warnings"])


@pytest.mark.parametrize("args,message", [
    (["--method", "again_fgsm"], "method: got 'again_fgsm'; allowed: pgd_at"),
    (["--attack.eps", "2"], "attack.eps: must be in (0, 1]"),
    (["--attack.steps", "0"], "attack.steps: must be >= 1"),
    (["--backbone", "vgg"], "model.backbone: got 'vgg'; allowed: small_cnn"),
    (["--dataset", "imagenet"], "data.dataset: got 'imagenet'"),
    (["--data.source", "folder", "--data.data_dir", "/nonexistent"], "data.data_dir (--data-dir): no folder"),
    (["--preset", "nope"], "preset: got 'nope'"),
    (["--eps", "8/0"], "attack.eps: '8/0' divides by zero"),
    (["--lr", "inf"], "optim.lr: got 'inf'; give a finite number"),
    (["--attack.step_size", "nan"], "attack.step_size: got 'nan'; give a finite number"),
    (["--method", "las_at", "--strategy", "mirrored"], "las_at trains without tf.distribute"),
    (["--method", "lbgat", "--again.ase", "true"], "lbgat does not combine with AGAIN, CAS or AWP"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, args, message):
    assert main(TINY + ["--output-dir", str(tmp_path)] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_unwritable_output_dir_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(TINY + ["--output-dir", str(blocker)]) == 2
    assert "output_dir: cannot write" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("method,label,column", [
    ("lbgat", "LBGAT", "ce_guide"), ("fat", "FAT", "loss_base"), ("cas", "CAS-PGD-AT", "loss_aux"),
    ("las_at", "LAS-AT", "strategy_reward")])
def test_each_baseline_trains_and_evaluates_from_the_clis(tmp_path, capsys, method, label, column):
    """The seed's other baselines (two with a network of their own) evaluate like any run."""
    from training.evaluate import main as evaluate

    args = ["--output-dir", str(tmp_path), "--name", method, "--method", method, "--epochs", "1"]
    assert main(TINY + args) == 0
    assert evaluate([str(tmp_path / method), "--attacks", "clean,pgd10", "--n", "32",
                     "--batch-size", "32"]) == 0
    assert f"| {label} |" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / method / "metrics.csv").open()))
    # A positive loss term (or LAS-AT's reward, which includes the capped CE): 0 would be a
    # tracker never updated.
    assert len(rows) == 1 and 0 < float(rows[0][column]) < math.inf
