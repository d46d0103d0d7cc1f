"""bench.reproduce: grid validation, and a 2-cell toy grid end to end with resume."""

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from again_tf.config.schema import parse_method
from again_tf.errors import ConfigError
from bench.reproduce import (
    _flags,
    check_one_version,
    code_version,
    gather,
    load_grid,
    main,
    train_command,
)
from training.cli_config import resolve_config
from training.train import parse_args

TOY = {
    "name": "toy", "preset": "quickstart", "seeds": [0], "masks": 16,
    "overrides": {"model.widths": [8, 8, 16], "attack.steps": 1, "optim.steps_per_epoch": 3,
                  "optim.epochs": 1, "data.batch_size": 32, "data.val_examples": 32,
                  "data.test_examples": 32, "eval.val_pgd_steps": 1, "eval.test_pgd_steps": 1},
    "evaluate": [{"attacks": "clean,pgd2", "n": 32, "batch_size": 32},
                 {"name": "extra", "attacks": "clean,fgsm", "n": 16, "batch_size": 16, "groups": ["main"]}],
    "rows": [{"row": "PGD-AT", "method": "pgd_at"},
             {"row": "ASE only", "method": "again_pgd_at", "group": "ablation",
              "overrides": {"again.hff": False}}],
}


def _write(tmp_path, grid):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grid))
    return path


@pytest.mark.parametrize("change,message", [
    ({"epochs": 3}, "unknown keys ['epochs']; allowed: name, preset"),
    ({"rows": []}, "'rows' is empty"),
    ({"rows": [{"row": "X", "method": "fgsm_at"}]}, "method 'fgsm_at'; allowed: pgd_at"),
    ({"rows": [{"row": "X"}]}, "needs 'row' (its name in the table) and 'method'"),
    ({"rows": [{"row": "X", "method": "pgd_at"}, {"row": "x", "method": "mart"}]}, "share a name"),
    ({"evaluate": {"attacks": "clean,deepfool"}}, "unknown attack 'deepfool'"),
    ({"evaluate": [{"attacks": "clean"}, {"name": "main", "attacks": "fgsm"}]},
     "names ['main', 'main'] repeat"),
    ({"evaluate": [{"attacks": "clean", "rows": ["X"]}]}, "unknown keys ['rows']; allowed: name, attacks"),
    ({"rows": [{"row": "X", "method": "pgd_at", "seeds": []}]}, "seeds must be a non-empty list"),
    ({"masks": "all"}, "masks 'all'; give the number of test images (e.g. 1000), or 0 for none"),
])
def test_bad_grids_are_refused_before_anything_runs(tmp_path, change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_grid(_write(tmp_path, {**TOY, **change}))


def test_each_evaluation_with_two_attacks_or_more_reports_its_worst_case(tmp_path):
    evaluate = [{"attacks": "clean,pgd2,fgsm", "n": 32}, {"name": "aa", "attacks": "clean,pgd2", "n": 16},
                {"name": "past", "attacks": "clean,aa,transfer", "n": 16}]
    grid = load_grid(_write(tmp_path, {**TOY, "evaluate": evaluate, "seeds": [0, 1]}))
    root = tmp_path / "runs"
    for n, cell in enumerate(grid.cells):
        evaluations = {"main": {"clean": 0.8, "pgd2": 0.6, "fgsm": 0.65, "worst": 0.5 + n / 100},
                       "aa": {"clean": 0.8, "pgd2": 0.6}, "past": {"clean": 0.8, "aa": 0.5, "transfer": 0.4}}
        if n != 3:  # the last cell was evaluated before the past evaluation had a worst case
            evaluations["past"]["worst"] = 0.3
        (root / cell.id).mkdir(parents=True)
        (root / cell.id / "cell.json").write_text(json.dumps(
            {"row": cell.row, "group": cell.group, "method": cell.method, "seed": cell.seed,
             "accuracy": {**evaluations["past"], **evaluations["main"]}, "evaluations": evaluations,
             "train_seconds": 60.0,
             "eval_seconds": 1.0, "warnings": []}))
    gather(grid, root, None)
    rows = list(csv.DictReader((root / "results.csv").open()))
    assert [r["worst_main"] for r in rows] == ["0.5", "0.51", "0.52", "0.53"]
    assert [r["worst_past"] for r in rows] == ["0.3", "0.3", "0.3", ""] and "worst_aa" not in rows[0]
    table = (root / "table.md").read_text()
    head = "| Method | seeds | Clean | PGD-2 | FGSM | AA (past) | Past masks (past) | Worst case | train"
    assert head in table
    assert "| 40.00 (40.00-40.00) | 50.50 (50.00-51.00) | 1.0 |" in table  # PGD-AT, seeds 0 and 1
    past = table.split("**past**")[1]
    assert "| Method | seeds | Clean | AA | Past masks | Worst case |" in past
    assert "| 40.00 (40.00-40.00) | 30.00 |" in past  # ASE only: the cell without it is left out


def test_overrides_become_the_training_clis_flags():
    assert _flags({"again.hff": False, "model.widths": [8, 16], "optim.lr": 0.05}) == [
        "--again.hff", "false", "--model.widths", "8,16", "--optim.lr", "0.05"]


def test_a_dry_run_prints_the_commands_and_writes_nothing_to_the_results(tmp_path, capsys):
    results = tmp_path / "results"
    assert main([str(_write(tmp_path, TOY)), "--output-dir", str(tmp_path / "runs"), "--results-dir",
                 str(results), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("-m training.train --preset quickstart") == 2 and "0/2 cells finished" in out
    assert not results.exists()


@pytest.mark.slow
def test_a_toy_grid_runs_resumes_and_gathers_the_table(tmp_path, capsys):
    grid, root, results = _write(tmp_path, TOY), tmp_path / "runs", tmp_path / "results"
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
    assert cell["examples"] == {"main": 32, "extra": 16} and cell["code_version"] == code_version()
    shutil.rmtree(root)  # a fresh checkout keeps only the results folder: nothing is run again
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "training" not in out and "2/2 cells finished" in out
    assert list(csv.DictReader((results / "results.csv").open())) == rows


@pytest.mark.parametrize("path", sorted(Path("bench/grids").glob("*.json")), ids=lambda p: p.stem)
def test_every_grid_in_the_repository_resolves_to_valid_run_configs(path):
    grid = load_grid(path)
    for cell in grid.cells:
        command = train_command(grid, cell, Path("/tmp/unused"), "python")
        config = resolve_config(parse_args(command[3:]))
        base, awp, sites = parse_method(cell.method)
        assert (config.objective.method, config.objective.awp) == (base, awp), cell
        assert config.again.enabled == bool(sites) or cell.group == "ablation", cell
        assert config.seed == cell.seed and config.preset == grid.preset


def test_the_code_version_is_the_commit_plus_a_hash_of_uncommitted_code(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "again_tf").mkdir()
    (tmp_path / "again_tf" / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.md").write_text("not code\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one")
    commit = code_version(tmp_path)
    assert len(commit) == 40 and "+" not in commit
    (tmp_path / "notes.md").write_text("changed, still not code\n")
    assert code_version(tmp_path) == commit
    (tmp_path / "again_tf" / "a.py").write_text("x = 2\n")
    dirty = code_version(tmp_path)
    assert dirty.startswith(commit + "+") and code_version(tmp_path) == dirty
    with pytest.raises(ConfigError, match="git rev-parse failed"):
        code_version(Path("/"))


def test_cells_of_another_code_version_are_refused():
    check_one_version([{"code_version": "abc"}, {}], "abc")  # a cell from before versions: not checked
    with pytest.raises(ConfigError, match="come from code version abc\\+123, this checkout is def.*"
                                          "git worktree add ../grid abc"):
        check_one_version([{"code_version": "abc+123"}], "def")
