"""bench.transfer: the transfer attacks run once per ASE cell, and worst.csv is the per-image
minimum over the evaluation's attacks and theirs."""

import csv
import json
import shutil

import numpy as np
import pytest

from bench.compare import main as compare
from bench.transfer import main as transfer
from training.evaluate import main as evaluate


def _cell(results, runs, name, row, method, evaluated=None, ase=True, overrides=None):
    """A finished cell: cell.json and aa_per_example.csv in ``results``, config.json in ``runs``
    (none when ``ase`` is None: the run folder is gone)."""
    (results / name).mkdir(parents=True)
    summary = {"row": row, "group": "main", "method": method, "seed": 0, "examples": {"aa": 4},
               "overrides": overrides or {}}
    (results / name / "cell.json").write_text(json.dumps(summary))
    if evaluated is None:
        if ase is not None:
            (runs / name).mkdir(parents=True, exist_ok=True)
            (runs / name / "config.json").write_text(json.dumps({"again": {"ase": ase}}))
        with (results / name / "aa_per_example.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "label", "clean", "pgd20:main", "pgd20", "aa", "aa:broken_by"])
            writer.writerows([[0, 1, 1, 1, 1, 1, ""], [1, 2, 1, 1, 1, 0, "apgd-ce"],
                              [2, 3, 1, 1, 0, 0, "apgd-ce"], [3, 4, 0, 0, 0, 0, ""]])
    else:
        summary["examples"] = {"aa": 32}
        (results / name / "cell.json").write_text(json.dumps(summary))
        shutil.copy(evaluated / "per_example.csv", results / name / "aa_per_example.csv")


def test_table_worst_is_the_minimum_over_the_evaluations_attacks_and_unknown_for_ase_without_a_model(
        tmp_path, capsys):
    results, runs = tmp_path / "results", tmp_path / "runs"
    _cell(results, runs, "pgd-at-s0", "PGD-AT", "pgd_at", ase=False)
    _cell(results, runs, "hff-s0", "HFF only", "again_pgd_at", ase=None, overrides={"again.ase": False})
    _cell(results, runs, "again-s0", "AGAIN-PGD-AT", "again_pgd_at", ase=None)
    assert transfer([str(results), "--runs", str(runs)]) == 0
    rows = {r["row"]: r for r in csv.DictReader((results / "worst.csv").open())}
    for row in ("PGD-AT", "HFF only"):
        assert rows[row]["table_worst"] == rows[row]["worst"] == "0.25" and rows[row]["transfer"] == ""
    assert rows["AGAIN-PGD-AT"]["table_worst"] == "0.25" and rows["AGAIN-PGD-AT"]["worst"] == ""
    assert not list(results.glob("*/transfer_results.json"))
    printed = capsys.readouterr().out
    assert "PGD-AT (seed 0): table 25.00%, transfer -, worst 25.00% of 4" in printed
    assert "again-s0: no model in" in printed
    assert "AGAIN-PGD-AT (seed 0): table 25.00%, transfer -, worst - of 4" in printed
    assert transfer([str(results), "--runs", str(runs), "--evaluation", "main"]) == 2
    assert "no main_per_example.csv; pass the --evaluation the grid ran" in capsys.readouterr().err


@pytest.mark.slow
def test_an_ase_cell_gets_its_transfer_attacks_once_and_worst_combines_them(tiny_run, tmp_path, capsys):
    results, runs = tmp_path / "results", tmp_path / "runs"
    run = shutil.copytree(tiny_run.dir, runs / "again-s0")
    out = run / "eval" / "aa"
    assert evaluate([str(run), "--attacks", "clean,pgd5", "--n", "32", "--output", str(out)]) == 0
    _cell(results, runs, "again-s0", "AGAIN-PGD-AT", "again_pgd_at", evaluated=out)
    _cell(results, runs, "pgd-at-s0", "PGD-AT", "pgd_at", ase=False)
    assert transfer([str(results), "--runs", str(runs), "--steps", "3"]) == 0
    saved = json.loads((results / "again-s0" / "transfer_results.json").read_text())
    assert saved["examples"] == 32 and saved["code_version"] and "aa" in saved["with_evaluations"]
    attacked = list(csv.DictReader((results / "again-s0" / "transfer_per_example.csv").open()))
    table = [int(r["pgd5"]) for r in csv.DictReader((results / "again-s0" / "aa_per_example.csv").open())]
    worst = np.minimum(table, [int(r["worst"]) for r in attacked])
    row = next(r for r in csv.DictReader((results / "worst.csv").open()) if r["row"] == "AGAIN-PGD-AT")
    combined = saved["with_evaluations"]["aa"]["with_transfer"]
    assert float(row["worst"]) == pytest.approx(worst.mean()) == pytest.approx(combined)
    assert float(row["table_worst"]) == pytest.approx(np.mean(table))
    capsys.readouterr()
    assert transfer([str(results), "--runs", str(runs)]) == 0  # done once: nothing runs again
    assert "transfer attacks" not in capsys.readouterr().out
    assert compare([str(results / "worst.csv"), "--versus", "AGAIN-PGD-AT=PGD-AT", "--metrics", "worst"]) == 2
    assert "do not list the same images" in capsys.readouterr().err  # 32 images against PGD-AT's 4
