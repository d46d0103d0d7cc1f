"""bench.reproduce: the training CLI's flags, a dry run, and a 2-cell toy grid end to end with resume."""

import csv
import json
import re
import shutil

import pytest

from bench.code_version import code_version
from bench.grid import load_grid
from bench.reproduce import _flags, best_is_last, evaluate_command, main, same_weights_twin
from tests.bench.helpers import TOY, write_grid


def test_overrides_become_the_training_clis_flags():
    assert _flags({"again.hff": False, "model.widths": [8, 16], "optim.lr": 0.05}) == [
        "--again.hff", "false", "--model.widths", "8,16", "--optim.lr", "0.05"]


def _metrics(folder, robust: list[float]) -> None:
    folder.mkdir()
    lines = ["epoch,val_robust_accuracy"] + [f"{i},{v}" for i, v in enumerate(robust)]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_best_robust_is_evaluated_unless_it_is_the_last_epoch(tmp_path):
    grid = load_grid(write_grid(tmp_path, TOY))
    best, main_eval = grid.evaluate[2], grid.evaluate[0]
    _metrics(tmp_path / "later", [0.2, 0.5, 0.5])  # ties keep the first epoch: best is epoch 2
    _metrics(tmp_path / "last", [0.2, 0.4, 0.5])
    assert not best_is_last(tmp_path / "later") and best_is_last(tmp_path / "last")
    assert same_weights_twin(grid, best, grid.cells[0], tmp_path / "later") is None
    assert same_weights_twin(grid, best, grid.cells[0], tmp_path / "last") == main_eval
    assert same_weights_twin(grid, main_eval, grid.cells[0], tmp_path / "last") is None
    assert "--checkpoint best_robust" in " ".join(evaluate_command(best, tmp_path, "python"))


def test_a_dry_run_prints_the_commands_and_writes_nothing_to_the_results(tmp_path, capsys):
    results = tmp_path / "results"
    assert main([str(write_grid(tmp_path, TOY)), "--output-dir", str(tmp_path / "runs"), "--results-dir",
                 str(results), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("-m training.train --preset quickstart") == 2 and "0/2 cells finished" in out
    assert not results.exists()


@pytest.mark.slow
def test_a_toy_grid_runs_resumes_and_gathers_the_table(tmp_path, capsys):
    grid, root, results = write_grid(tmp_path, TOY), tmp_path / "runs", tmp_path / "results"
    args = [str(grid), "--output-dir", str(root), "--results-dir", str(results)]
    assert main(args + ["--max-cells", "1"]) == 0  # stops after one cell, as a time budget would
    assert "1/2 cells finished" in capsys.readouterr().out
    first = (root / "pgd-at-s0" / "cell.json").stat().st_mtime_ns
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "pgd-at-s0" not in out and "ase-only-s0: training" in out and "2/2 cells finished" in out
    assert (root / "pgd-at-s0" / "cell.json").stat().st_mtime_ns == first  # not run again
    rows = list(csv.DictReader((results / "results.csv").open()))
    assert [(r["row"], r["group"]) for r in rows] == [("PGD-AT", "main"), ("ASE only", "ablation")]
    assert all(0.0 <= float(r["pgd2"]) <= float(r["clean"]) <= 1.0 for r in rows)
    assert rows[0]["fgsm"] != "" and rows[1]["fgsm"] == ""  # the extra evaluation: main rows only
    config = json.loads((root / "ase-only-s0" / "config.json").read_text())
    assert config["again"]["hff"] is False and config["model"]["widths"] == [8, 8, 16]
    table = (results / "table.md").read_text()
    assert "| Method | seeds | Clean | PGD-2 | FGSM (extra) | train min/cell |" in table
    assert re.search(r"\| ASE only \| 1 \| [0-9.]+ \| [0-9.]+ \| - \|", table), table
    assert "* extra: clean,fgsm on the first 16 test images, groups main" in table
    extra = table.split("**extra** (clean,fgsm on the first 16 test images;")[1]
    assert re.search(r"\| PGD-AT \| 1 \| [0-9.]+ \| [0-9.]+ \|", extra) and "ASE only" not in extra
    assert (results / "ase-only-s0" / "metrics.csv").is_file()
    masks = (results / "ase-only-s0" / "masks.txt").read_text()  # the mask measurement, ASE cells only
    assert re.fullmatch(r"ase-only-s0 \(16 test images\): inference main head == ASE head, site 1: .*\n",
                        masks)
    assert not (results / "pgd-at-s0" / "masks.txt").exists()
    assert (results / "pgd-at-s0" / "extra_per_example.csv").is_file()
    cell = json.loads((root / "pgd-at-s0" / "cell.json").read_text())
    assert cell["examples"] == {"main": 32, "extra": 16, "best": 32}
    assert cell["code_version"] == code_version()
    # One epoch: best_robust.keras is the last epoch's weights, so its evaluation is the main one's.
    assert cell["best_is_last"] and cell["evaluations"]["best"] == cell["evaluations"]["main"]
    assert "* best: clean,pgd2 on the first 32 test images, checkpoint best_robust" in table
    shutil.rmtree(root)  # a fresh checkout keeps only the results folder: nothing is run again
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "training" not in out and "2/2 cells finished" in out
    assert list(csv.DictReader((results / "results.csv").open())) == rows
