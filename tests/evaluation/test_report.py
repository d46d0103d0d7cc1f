import csv
import json

import numpy as np

from again_tf.evaluation import (
    AttackSpec,
    accuracies,
    markdown_table,
    parse_attacks,
    run_checks,
    with_worst_case,
    write_outputs,
)
from again_tf.evaluation.report import read_per_example, write_per_example


def test_table_is_in_the_seeds_format_with_a_main_head_row_when_it_differs():
    specs = (*parse_attacks("clean,pgd20"), AttackSpec("aa", "aa"))
    acc = {"clean": 0.8788, "pgd20": 0.5443, "pgd20:main": 0.6, "aa": 0.4931}
    assert markdown_table("AGAIN-PGD-AT", acc, specs) == (
        "| Method | Clean | PGD-20 | AA |\n|---|---|---|---|\n"
        "| AGAIN-PGD-AT | 87.88% | 54.43% | 49.31% |\n"
        "| AGAIN-PGD-AT (main head only) | 87.88% | 60.00% | 49.31% |")
    acc["pgd20:main"] = 0.5443
    assert markdown_table("PGD-AT", acc, specs).count("\n") == 2


def test_the_worst_case_survives_every_attack_and_the_main_head_row_has_no_attack_past_the_masks():
    specs = parse_attacks("clean,pgd20,aa,transfer")
    columns = {"index": np.arange(4), "label": np.zeros(4),
               "clean": np.array([1, 1, 1, 0], np.int8), "pgd20:main": np.array([1, 1, 1, 0], np.int8),
               "pgd20": np.array([1, 1, 0, 0], np.int8), "aa": np.array([1, 0, 1, 0], np.int8),
               "transfer": np.array([0, 1, 1, 0], np.int8)}
    found = with_worst_case(columns, specs)
    np.testing.assert_array_equal(found["worst"], [0, 0, 0, 0])
    np.testing.assert_array_equal(found["worst:main"], [1, 0, 1, 0])  # pgd20:main and aa
    table = markdown_table("M", accuracies(found), specs)
    assert table.splitlines()[0] == "| Method | Clean | PGD-20 | AA | Past masks | Worst case |"
    assert table.splitlines()[2:] == ["| M | 75.00% | 50.00% | 50.00% | 50.00% | 0.00% |",
                                      "| M (main head only) | 75.00% | 75.00% | 50.00% | - | 50.00% |"]
    assert with_worst_case(columns, parse_attacks("clean,pgd20")) is columns  # one attack: no column


def test_outputs_reproduce_the_table_from_the_per_example_record(tmp_path):
    specs = parse_attacks("clean,pgd10")
    columns = {"index": np.arange(4), "label": np.array([0, 1, 2, 3]),
               "clean": np.array([1, 1, 1, 0], np.int8), "pgd10:main": np.array([1, 1, 0, 0], np.int8),
               "pgd10": np.array([1, 0, 0, 0], np.int8)}
    acc = accuracies(columns)
    assert acc == {"clean": 0.75, "pgd10:main": 0.5, "pgd10": 0.25}
    paths = write_outputs(tmp_path, "m", columns, acc, specs, run_checks(columns, acc, specs), {"eps": 0.1})
    rows = list(csv.DictReader(paths["per_example.csv"].open()))
    assert np.mean([int(r["pgd10"]) for r in rows]) == 0.25
    summary = {r["attack"]: float(r["accuracy"]) for r in csv.DictReader(paths["results.csv"].open())}
    assert summary == {"clean": 0.75, "pgd10": 0.25}
    data = json.loads(paths["results.json"].read_text())
    assert data["examples"] == 4 and data["accuracy"]["pgd10:main"] == 0.5
    assert paths["table.md"].read_text().startswith("| Method | Clean | PGD-10 |")


def test_per_example_reads_back_what_was_written(tmp_path):
    columns = {"index": np.arange(3), "label": np.array([4, 0, 9]), "aa": np.array([1, 0, 0], np.int8),
               "aa:broken_by": np.array(["", "clean", "apgd-t"])}
    write_per_example(tmp_path / "p.csv", columns)
    found = read_per_example(tmp_path / "p.csv")
    assert list(found) == list(columns)
    for name, column in columns.items():
        np.testing.assert_array_equal(found[name], column)
    assert found["aa"].dtype.kind == "i" and found["aa:broken_by"].dtype.kind == "U"
