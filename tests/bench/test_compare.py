"""bench.compare: pairs, seed-by-seed gains and the verdict against the spread of seeds."""

import csv
import re

import pytest

from again_tf.errors import ConfigError
from bench.compare import compare, default_pairs, main, read_results

FIELDS = ["row", "group", "method", "seed", "clean", "aa", "train_seconds", "eval_seconds", "warnings"]
ROWS = [  # (row, group, method, seed, clean, aa)
    ("PGD-AT", "main", "pgd_at", 0, 0.85, 0.70),
    ("PGD-AT", "main", "pgd_at", 1, 0.84, 0.72),
    ("AGAIN-PGD-AT", "main", "again_pgd_at", 0, 0.80, 0.60),
    ("AGAIN-PGD-AT", "main", "again_pgd_at", 1, 0.79, 0.62),
    ("AGAIN-PGD-AT, soft", "main", "again_pgd_at", 0, 0.86, 0.735),
    ("AGAIN-PGD-AT, soft", "main", "again_pgd_at", 1, 0.83, 0.73),
    ("TRADES", "main", "trades", 0, 0.82, 0.71),
    ("AGAIN-TRADES", "main", "again_trades", 0, 0.81, ""),
    ("small CNN series", "small_cnn", "again_pgd_at", 0, 0.77, 0.58),
    ("AWP", "main", "awp_pgd_at", 0, 0.85, 0.74),
    ("AGAIN-AWP", "main", "again_awp", 0, 0.82, 0.69),
]


@pytest.fixture
def results_dir(tmp_path):
    with (tmp_path / "results.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FIELDS)
        for row in ROWS:
            writer.writerow([*row, 600, 600, ""])
    return tmp_path


def test_again_rows_pair_with_their_groups_base_method(results_dir):
    assert default_pairs(read_results(results_dir)) == [
        ("AGAIN-PGD-AT", "PGD-AT"), ("AGAIN-PGD-AT, soft", "PGD-AT"), ("AGAIN-TRADES", "TRADES"),
        ("AGAIN-AWP", "AWP")]  # again_awp is again_awp_pgd_at: its base is AWP, not PGD-AT


def test_gains_are_paired_by_seed_and_the_verdict_reads_the_spread(results_dir):
    results = read_results(results_dir)
    pairs = [("AGAIN-PGD-AT", "PGD-AT"), ("AGAIN-PGD-AT, soft", "PGD-AT")]
    worse, _, soft_aa, soft_clean = compare(results, pairs, ["aa", "clean"])
    assert worse.metric == "aa" and worse.base == "PGD-AT"
    assert worse.verdict == "worse" and worse.gains == pytest.approx((-10.0, -10.0))
    assert soft_aa.gains == pytest.approx((3.5, 1.0))
    assert soft_aa.verdict == "better" and soft_aa.gains_at_least(1.0) and not soft_aa.gains_at_least(1.5)
    assert soft_clean.gains == pytest.approx((1.0, -1.0)) and soft_clean.verdict == "within"


def test_a_single_seed_or_a_missing_value_has_no_verdict(results_dir):
    one, missing = compare(read_results(results_dir), [("AGAIN-TRADES", "TRADES")], ["clean", "aa"])
    assert one.seeds == (0,) and one.verdict == "1 seed" and not one.gains_at_least(-100)
    assert missing.seeds == ()


@pytest.mark.parametrize("argv,message", [
    (["--versus", "AGAIN-PGD-AT"], "write ROW=BASE"),
    (["--versus", "AGAIN=PGD-AT"], "no row 'AGAIN' in the results; rows: AGAIN-AWP, AGAIN-PGD-AT"),
    (["--metrics", "pgd7"], "no metric 'pgd7' in the results; columns: aa, clean"),
])
def test_bad_requests_name_the_fix(results_dir, capsys, argv, message):
    assert main([str(results_dir), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=re.escape("no results.csv; pass a grid's results folder")):
        read_results(tmp_path)


def test_the_cli_prints_and_writes_the_table(results_dir, capsys):
    out = results_dir / "comparison.md"
    assert main([str(results_dir), "--versus", "AGAIN-PGD-AT, soft=PGD-AT", "--metrics", "aa",
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    assert ("| AGAIN-PGD-AT, soft | PGD-AT | aa | 0,1 | 73.50 / 73.00 | 70.00 / 72.00 | +3.50 / +1.00 "
            "| better | yes |") in printed
