"""results.csv and table.md from finished cells: columns, seeds, and each evaluation's worst case."""

import csv
import json

from bench.grid import load_grid
from bench.grid_table import gather
from tests.bench.helpers import TOY, write_grid


def test_each_evaluation_with_two_attacks_or_more_reports_its_worst_case(tmp_path):
    evaluate = [{"attacks": "clean,pgd2,fgsm", "n": 32}, {"name": "aa", "attacks": "clean,pgd2", "n": 16},
                {"name": "past", "attacks": "clean,aa,transfer", "n": 16}]
    grid = load_grid(write_grid(tmp_path, {**TOY, "evaluate": evaluate, "seeds": [0, 1]}))
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
