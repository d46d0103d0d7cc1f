import csv
import json
import math
import re
import shutil

import pytest
import tensorflow as tf

from again_tf.run.curves import read_gap
from tests.training.helpers import TINY
from training.analyze import main as analyze
from training.evaluate import main as evaluate
from training.train import main as train


@pytest.fixture(scope="module")
def gap_run(tiny_run, tmp_path_factory):
    """A copy of the shared run (tests/conftest.py: TINY with gap curves, images and span
    monitored), named gap; analyze logs into it."""
    return shutil.copytree(tiny_run.dir, tmp_path_factory.mktemp("runs") / "gap")


@pytest.fixture(scope="module")
def sparse_gap_run(tmp_path_factory):
    """Gap measured every 2nd of 4 epochs: the skipped epochs' columns must still reach metrics.csv."""
    root = tmp_path_factory.mktemp("sparse")
    args = ["--epochs", "4", "--eval.gap_examples", "16", "--eval.gap_every", "2"]
    assert train(TINY + ["--output-dir", str(root), "--name", "sparse"] + args) == 0
    return root / "sparse"


def _scalars(folder):
    """{tag: {step: value}} of the event files in ``folder``."""
    found = {}
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                array = tf.make_ndarray(v.tensor) if v.HasField("tensor") else None
                scalar = array is not None and array.shape == () and array.dtype.kind == "f"
                found.setdefault(v.tag, {})[event.step] = float(array) if scalar else None
    return found


def _tags(folder):
    return set(_scalars(folder))


def test_gap_curves_are_in_metrics_csv_and_paired_in_tensorboard(gap_run):
    rows = list(csv.DictReader((gap_run / "metrics.csv").open()))
    assert len(rows) == 2
    for row in rows:
        for split in ("train", "test"):
            assert 0.0 <= float(row[f"gap_{split}_pgd10"]) <= float(row[f"gap_{split}_clean"]) <= 1.0
    for split in ("gap_train", "gap_test"):
        assert {"gap/clean_accuracy", "gap/pgd10_accuracy"} <= _tags(gap_run / "tensorboard" / split)


def test_span_cells_are_empty_on_skipped_epochs_and_written_once_to_tensorboard(gap_run):
    rows = list(csv.DictReader((gap_run / "metrics.csv").open()))
    columns = [f"span_{m}_{k}" for m in ("mass_span", "effective_support") for k in ("clean", "pgd10")]
    assert all(rows[0][c] == "" for c in columns)  # span_every 2: epoch 1 skipped, no NaN
    assert all(0.0 < float(rows[1][c]) <= 1.0 for c in columns)
    assert "nan" not in (gap_run / "metrics.csv").read_text().lower()
    train_board = _tags(gap_run / "tensorboard" / "train")
    assert not {t for t in train_board if t.startswith(("epoch_span_", "epoch_gap_"))}  # not twice
    span = _scalars(gap_run / "tensorboard" / "span")
    assert {t: set(steps) for t, steps in span.items()} == {f"span/{c[5:]}": {2} for c in columns}


@pytest.mark.slow
def test_sparse_gap_columns_reach_metrics_csv_and_analyze_uses_measured_epochs(sparse_gap_run, tmp_path,
                                                                                capsys):
    rows = list(csv.DictReader((sparse_gap_run / "metrics.csv").open()))
    assert len(rows) == 4
    for row, measured in zip(rows, (False, True, False, True)):
        for column in ("gap_train_clean", "gap_test_clean", "gap_train_pgd10", "gap_test_pgd10"):
            assert (row[column] == "") != measured, (row["epoch"], column)
    curves = read_gap(sparse_gap_run)
    assert list(curves["epoch"]) == [2, 4]
    assert all(math.isfinite(v) for values in curves.values() for v in values)
    assert analyze(["gap", str(sparse_gap_run), "--out", str(tmp_path / "gap.png")]) == 0
    printed = capsys.readouterr().out
    assert "last (epoch 4)" in printed and re.search(r"best \(epoch [24]\)", printed)
    assert "nan" not in printed
    assert set(_scalars(sparse_gap_run / "tensorboard" / "gap_test")["gap/pgd10_accuracy"]) == {2, 4}


def test_analyze_gap_draws_both_panels_and_prints_the_gaps(gap_run, tmp_path, capsys):
    out = tmp_path / "gap.png"
    assert analyze(["gap", str(gap_run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "best (epoch" in printed and "last (epoch 2)" in printed and "robust gap" in printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_run_without_gap_curves_is_a_clear_error(tmp_path, capsys):
    assert train(TINY + ["--output-dir", str(tmp_path), "--name", "plain", "--epochs", "1"]) == 0
    assert analyze(["gap", str(tmp_path / "plain")]) == 2
    assert "train with --eval.gap_examples" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["ig", "gradcam"])
def test_analyze_attribution_draws_the_grid_prints_the_span_and_logs_it(gap_run, tmp_path, capsys, method):
    out = tmp_path / "att.png"
    args = ["attribution", str(gap_run), str(gap_run), "--images", "3", "--n", "16", "--method", method,
            "--out", str(out)]
    assert analyze(args) == 0
    printed = capsys.readouterr().out
    spans = re.findall(r"mass span \(80%\) clean (\d\.\d+) / PGD-10 (\d\.\d+)", printed)
    assert len(spans) == 2 and all(0 < float(v) <= 0.8 for pair in spans for v in pair)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "analysis/attribution" in _tags(gap_run / "tensorboard" / "analysis")


def test_tensorboard_has_every_expected_tag(gap_run):
    board = gap_run / "tensorboard"
    train = _tags(board / "train")
    assert {"epoch_loss", "epoch_loss_aux", "epoch_robust_accuracy", "epoch_learning_rate"} <= train
    assert "epoch_lr" not in train  # the learning rate once, under Keras' own tag
    assert {"epoch_robust_accuracy", "epoch_clean_accuracy"} <= _tags(board / "validation")
    assert {"adversarial/clean", "adversarial/x_adv", "adversarial/perturbation"} <= _tags(board / "images")
    assert {"span/mass_span_clean", "span/effective_support_pgd10"} <= _tags(board / "span")
    hparams = _tags(board / "hparams")
    assert {"final/clean_accuracy", "final/pgd2_accuracy", "_hparams_/session_start_info"} <= hparams


def test_runs_of_different_data_sets_and_unknown_layers_are_clear_errors(gap_run, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((gap_run / "config.json").read_text())
    config["data"]["dataset"] = "mnist"
    (other / "config.json").write_text(json.dumps(config))
    assert analyze(["gap", str(gap_run), str(other)]) == 2
    assert "different data sets (gap: fashion_mnist, other: mnist)" in capsys.readouterr().err
    assert analyze(["attribution", str(gap_run), "--method", "gradcam", "--layer", "conv7"]) == 2
    assert "--layer: got 'conv7'; allowed for gap: features, block" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert analyze(["gap", str(gap_run), str(tmp_path / "empty")]) == 2
    assert "empty: no config.json; give run folders written by training.train" in capsys.readouterr().err


def test_analyze_curves_plots_metrics_and_names_the_columns_it_lacks(gap_run, tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert analyze(["curves", str(gap_run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.stat().st_size > 10_000 and "gap val_robust_accuracy by epoch: " in printed
    values = printed.split("val_robust_accuracy by epoch: ")[1].splitlines()[0].split()
    rows = list(csv.DictReader((gap_run / "metrics.csv").open()))
    expected = [float(r["val_robust_accuracy"]) for r in rows]
    assert [float(v) for v in values] == pytest.approx(expected, abs=1e-4)
    assert analyze(["curves", str(gap_run), "--metrics", "val_aa"]) == 2
    assert "metrics.csv has no val_aa; it has: " in capsys.readouterr().err


def test_analyze_masks_prints_each_runs_shares_and_refuses_a_model_without_ase(gap_run, tmp_path, capsys):
    assert analyze(["masks", str(gap_run), "--n", "32"]) == 0
    printed = capsys.readouterr().out
    shares = [float(v) for v in re.findall(r"(\d+\.\d)%", printed)]
    assert printed.startswith("gap (32 test images): ") and len(shares) == 6, printed
    assert all(0 <= v <= 100 for v in shares)
    assert train(TINY + ["--output-dir", str(tmp_path), "--name", "plain", "--epochs", "1",
                         "--method", "pgd_at"]) == 0
    assert analyze(["masks", str(tmp_path / "plain")]) == 2
    assert "plain: the model has no ASE site" in capsys.readouterr().err


def test_analyze_transfer_adds_its_attacks_to_the_evaluation_of_its_checkpoint(gap_run, tmp_path, capsys):
    run = shutil.copytree(gap_run, tmp_path / "transfer")
    assert evaluate([str(run), "--attacks", "clean,pgd5", "--n", "32", "--batch-size", "32"]) == 0
    capsys.readouterr()
    assert analyze(["transfer", str(run), "--n", "32", "--steps", "3", "--temperatures", "1"]) == 0
    printed = capsys.readouterr().out
    out = run / "eval" / "transfer-last"
    results = json.loads((out / "results.json").read_text())
    rows = list(csv.DictReader((out / "per_example.csv").open()))
    assert list(results["accuracy"]) == ["head1", "head2", "soft_T1", "worst"] and len(rows) == 32
    worst = [min(int(r[k]) for k in ("head1", "head2", "soft_T1")) for r in rows]
    assert [int(r["worst"]) for r in rows] == worst
    assert results["accuracy"]["worst"] == pytest.approx(sum(worst) / 32)
    assert list(results["with_evaluations"]) == ["last"]
    table = [int(r["pgd5"]) for r in csv.DictReader((run / "eval" / "last" / "per_example.csv").open())]
    found = results["with_evaluations"]["last"]
    assert found["table_worst"] == pytest.approx(sum(table) / 32)
    assert found["with_transfer"] == pytest.approx(sum(min(a, b) for a, b in zip(table, worst)) / 32)
    assert "transfer attacks agree with eval/last: worst of pgd5" in printed
    assert analyze(["transfer", str(run), "--temperatures", "1,0"]) == 2
    assert "--temperatures: got '1,0'; give numbers > 0" in capsys.readouterr().err
