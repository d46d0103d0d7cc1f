"""bench.compare and bench.paired_stats: per-seed McNemar on the same images, a t-interval over
seeds, verdicts read from it, on a synthetic results folder with per-example files."""

import csv
import json
import math
import re

import numpy as np
import pytest

from again_tf.errors import ConfigError
from bench import paired_stats as stats
from bench.compare import WORST_METRICS, compare, default_pairs, main, read_results


def paired(b: int, c: int, n: int, both: int = 0) -> tuple[list[int], list[int]]:
    """(row, base) correctness on n images: b where only the row is right, c where only the base
    is, ``both`` where both are, the rest where neither is."""
    row = [1] * b + [0] * c + [1] * both
    base = [0] * b + [1] * c + [1] * both
    return row + [0] * (n - len(row)), base + [0] * (n - len(base))


def write_cell(folder, row, group, method, seed, evaluations):
    """A finished cell as bench.reproduce --results-dir leaves it: cell.json and, per evaluation
    ({name: {column: 0/1 list}}), ``<name>_per_example.csv`` (image i has label i % 10)."""
    cell = folder / f"{re.sub(r'[^a-z0-9]+', '-', row.lower()).strip('-')}-s{seed}"
    cell.mkdir(parents=True)
    accuracy = {}
    for name, columns in evaluations.items():
        n = len(next(iter(columns.values())))
        with (cell / f"{name}_per_example.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "label", *columns])
            writer.writerows([i, i % 10, *(v[i] for v in columns.values())] for i in range(n))
        accuracy = {**{k: float(np.mean(v)) for k, v in columns.items()}, **accuracy}
    means = {name: {k: float(np.mean(v)) for k, v in cols.items()} for name, cols in evaluations.items()}
    (cell / "cell.json").write_text(json.dumps({"row": row, "group": group, "method": method, "seed": seed,
                                                "accuracy": accuracy, "evaluations": means}))
    return accuracy


# pgd20 (b, c) per seed on 100 images: gains +3 / +4 / +5 points; clean +38 / +40 / +36; aa on
# the aa evaluation's 50 images: -10 / -10 / -8.
PGD20 = [(15, 12), (15, 11), (9, 4)]
CLEAN = [(40, 2), (42, 2), (38, 2)]
AA = [(0, 5), (1, 6), (0, 4)]


@pytest.fixture
def results_dir(tmp_path):
    table = []
    for seed in range(3):
        pgd20, clean = paired(*PGD20[seed], 100, 50), paired(*CLEAN[seed], 100, 40)
        aa = paired(*AA[seed], 50, 30)
        for side, (row, method) in enumerate([("AGAIN-PGD-AT", "again_pgd_at"), ("PGD-AT", "pgd_at")]):
            evaluations = {"main": {"clean": clean[side], "pgd20": pgd20[side]},
                           "aa": {"clean": clean[side][:50], "aa": aa[side]}}
            table.append({"row": row, "group": "main", "method": method, "seed": seed,
                          **write_cell(tmp_path, row, "main", method, seed, evaluations)})
    for row, method, pgd20 in [("AGAIN-TRADES", "again_trades", [1, 1, 0, 0]),
                               ("TRADES", "trades", [0, 1, 1, 0])]:  # one seed
        evaluations = {"main": {"clean": [1] * 4, "pgd20": pgd20}}
        table.append({"row": row, "group": "main", "method": method, "seed": 0,
                      **write_cell(tmp_path, row, "main", method, 0, evaluations)})
    for row, group, method in [("AGAIN-AWP", "main", "again_awp"), ("AWP", "main", "awp_pgd_at"),
                               ("small CNN", "small_cnn", "again_pgd_at")]:  # no cell folders
        table.append({"row": row, "group": group, "method": method, "seed": 0, "clean": 0.5})
    with (tmp_path / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, ["row", "group", "method", "seed", "clean", "pgd20", "aa", "train_seconds",
                                    "eval_seconds", "warnings"], restval="")
        writer.writeheader()
        writer.writerows(table)
    return tmp_path


def test_mcnemar_is_the_exact_two_sided_binomial_test_on_the_discordant_images():
    # b=15, c=11: 26 discordant images, P[Binom(26, 1/2) <= 11] = (C(26,0) + ... + C(26,11)) / 2^26
    # = (1 + 26 + 325 + 2600 + 14950 + 65780 + 230230 + 657800 + 1562275 + 3124550 + 5311735
    #    + 7726160) / 67108864 = 18696432 / 67108864, so p = 2 * 18696432 / 67108864 = 0.5571971
    assert stats.mcnemar_p(15, 11) == pytest.approx(37392864 / 67108864, rel=1e-12)
    assert stats.mcnemar_p(11, 15) == stats.mcnemar_p(15, 11)
    assert stats.mcnemar_p(0, 0) == 1.0 and stats.mcnemar_p(5, 5) == 1.0  # capped at 1
    assert stats.mcnemar_p(0, 6) == pytest.approx(2 / 64)  # 2 * P[Binom(6, 1/2) = 0]
    assert stats.mcnemar_p(0, 2000) < 1e-300  # exact integer sums: no overflow at thousands
    assert stats.discordant(np.array([1, 1, 0, 0, 1]), np.array([0, 1, 1, 0, 0])) == (2, 1)


def test_the_t_interval_over_three_seeds_matches_the_hand_computation():
    # gains 3, 4, 5: mean 4, sd 1, t(0.975, 2 df) = 4.303, half width 4.303 * 1 / sqrt(3) = 2.484
    assert stats.t_quantile(2) == pytest.approx(4.303, abs=5e-4)
    assert stats.t_quantile(1) == pytest.approx(12.706, abs=5e-4)
    interval = stats.t_interval([3.0, 4.0, 5.0])
    found = (interval.mean, interval.low, interval.high)
    assert found == pytest.approx((4.0, 4 - 2.4841, 4 + 2.4841), abs=1e-4)
    # gains 2, 4, 6: sd 2, half width 4.303 * 2 / sqrt(3) = 4.968
    assert stats.t_interval([2.0, 4.0, 6.0]).low == pytest.approx(4 - 4.9683, abs=1e-4)
    assert stats.t_interval([4.0]) is None and stats.t_interval([]) is None


def test_the_shared_images_add_their_variance_to_the_seeds():
    # Two seeds on the same 4 images, per-image differences [1, 1, 0, -1] and [1, 0, 0, -1]:
    # averaged over seeds [1, .5, 0, -1], sample variance 2.1875 / 3 = 0.72917, so the images add
    # 100^2 * 0.72917 / 4 = 1822.92 points^2. Gains 25 and 0: s^2 = 312.5, s^2 / k = 156.25.
    image = stats.shared_image_variance([np.array([1, 1, 0, -1]), np.array([1, 0, 0, -1])])
    assert image == pytest.approx(1822.9167, abs=1e-3)
    interval = stats.t_interval([25.0, 0.0], image_variance=image)
    assert interval.high - interval.mean == pytest.approx(12.7062 * math.sqrt(156.25 + 1822.9167), abs=1e-2)
    # Equal gains no longer give a zero-width interval: the images' noise remains.
    equal = stats.t_interval([2.0, 2.0], image_variance=0.4)
    assert equal.low == pytest.approx(2 - 12.7062 * 0.6325, abs=1e-3)


@pytest.mark.parametrize("low,high,verdict", [
    (1e-9, 2.0, "better"), (0.0, 2.0, "not resolved"), (-1.0, 1.0, "not resolved"),
    (-2.0, 0.0, "not resolved"), (-2.0, -1e-9, "worse"),
])
def test_the_verdict_needs_the_whole_interval_on_one_side_of_zero(low, high, verdict):
    assert stats.verdict(stats.Interval((low + high) / 2, low, high), seeds=2) == verdict


def test_one_seed_or_none_has_no_verdict_and_the_gain_bar_reads_the_lower_end():
    assert stats.verdict(None, seeds=1) == "1 seed" and stats.verdict(None, seeds=0) == "no paired seed"
    assert stats.helps_by(stats.Interval(3.0, 1.0 + 1e-9, 5.0), 1.0)
    assert not stats.helps_by(stats.Interval(3.0, 1.0, 5.0), 1.0)  # at the bar is not above it
    assert not stats.helps_by(None, -100.0)


def test_the_bootstrap_is_seeded_and_centred_on_the_mean_gain():
    differences = [np.array(paired(b, c, 100)[0]) - np.array(paired(b, c, 100)[1]) for b, c in PGD20]
    first, again = stats.bootstrap_interval(differences), stats.bootstrap_interval(differences)
    assert first == again and first.mean == pytest.approx(4.0)
    assert first.low < 4.0 < first.high and stats.bootstrap_interval(differences[:1]) is None


def test_again_rows_pair_with_their_groups_base_method(results_dir):
    assert default_pairs(read_results(results_dir).rows) == [
        ("AGAIN-PGD-AT", "PGD-AT"), ("AGAIN-TRADES", "TRADES"),
        ("AGAIN-AWP", "AWP")]  # again_awp is again_awp_pgd_at: its base is AWP, not PGD-AT


def test_gains_are_paired_on_the_same_images_and_the_verdict_reads_the_interval(results_dir):
    results = read_results(results_dir)
    clean, pgd20, aa = compare(results, [("AGAIN-PGD-AT", "PGD-AT")], ["clean", "pgd20", "aa"])
    assert [(s.seed, s.b, s.c, s.n) for s in pgd20.seeds] == [(0, 15, 12, 100), (1, 15, 11, 100),
                                                              (2, 9, 4, 100)]
    assert pgd20.gains == pytest.approx((3.0, 4.0, 5.0)) and pgd20.seeds[1].p == pytest.approx(0.5571971)
    assert (pgd20.seeds[0].row, pgd20.seeds[0].base) == pytest.approx((65.0, 62.0))  # 15 + 50 and 12 + 50
    # Consistent gains on 100 shared images do not resolve: the images add V = 15.33 points^2
    # (checked by shared_image_variance's own test), half width 4.3027 sqrt(1 / 3 + 15.33) = 17.03.
    assert (pgd20.interval.low, pgd20.interval.high) == pytest.approx((-13.0267, 21.0267), abs=1e-3)
    assert pgd20.verdict == "not resolved" and not pgd20.helps_by(0.0)
    # clean: d averaged over seeds is 1 on 38 images, 1/3 on 2, -1/3 on 2, 0 on 58: mean 0.38,
    # variance (38 + 4/9 - 14.44) / 99 = 0.242469, V = 24.2469; gains 38 / 40 / 36, s^2 = 4;
    # half width 4.3027 sqrt(4 / 3 + 24.2469) = 21.7615.
    assert clean.gains == pytest.approx((38.0, 40.0, 36.0)) and clean.verdict == "better"
    assert clean.interval.low == pytest.approx(38 - 21.7615, abs=1e-3)
    assert clean.helps_by(16.0) and not clean.helps_by(17.0)
    assert aa.seeds[0].n == 50 and aa.gains == pytest.approx((-10.0, -10.0, -8.0))
    assert aa.interval.high == pytest.approx(6.8152, abs=1e-3) and aa.verdict == "not resolved"


def test_a_single_seed_or_a_missing_value_has_no_verdict(results_dir):
    one, missing = compare(read_results(results_dir), [("AGAIN-TRADES", "TRADES")], ["pgd20", "aa"])
    assert [(s.b, s.c, s.gain) for s in one.seeds] == [(1, 1, 0.0)] and one.verdict == "1 seed"
    assert one.seeds[0].p == 1.0 and one.interval is None and not one.helps_by(-100)
    assert missing.seeds == () and missing.verdict == "no paired seed"


def _rewrite(path, edit):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def test_cells_scored_on_other_images_are_refused(results_dir):
    _rewrite(results_dir / "pgd-at-s1" / "main_per_example.csv",  # images 98 and 99 swapped
             lambda lines: lines[:-2] + [lines[-1], lines[-2]])
    with pytest.raises(ConfigError, match="do not list the same images in the same order"):
        compare(read_results(results_dir), [("AGAIN-PGD-AT", "PGD-AT")], ["clean"])


def test_a_per_example_file_that_is_not_the_tables_is_refused(results_dir):
    _rewrite(results_dir / "pgd-at-s2" / "main_per_example.csv",  # image 99: pgd20 now right
             lambda lines: lines[:-1] + [lines[-1][:-1] + "1"])
    with pytest.raises(ConfigError, match=r"gives 55\.00% but results.csv says 54\.00%"):
        compare(read_results(results_dir), [("AGAIN-PGD-AT", "PGD-AT")], ["pgd20"])


@pytest.mark.parametrize("argv,message", [
    (["--versus", "AGAIN-PGD-AT"], "write ROW=BASE"),
    (["--versus", "AGAIN=PGD-AT"], "no row 'AGAIN' in the results; rows: AGAIN-AWP, AGAIN-PGD-AT"),
    (["--metrics", "pgd7"], "no metric 'pgd7' with per-image statistics in results.csv; metrics: aa, clean"),
    (["--metrics", "train_seconds"], "metrics: aa, clean, pgd20."),
    (["--versus", "AGAIN-AWP=AWP", "--metrics", "clean"], "no <cell>/cell.json for 'AGAIN-AWP' seed 0"),
])
def test_bad_requests_name_the_fix(results_dir, capsys, argv, message):
    assert main([str(results_dir), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=re.escape("no results.csv; pass a grid's results folder")):
        read_results(tmp_path)


def test_the_cli_prints_and_writes_the_table(results_dir, capsys):
    out = results_dir / "comparison.md"
    assert main([str(results_dir), "--versus", "AGAIN-PGD-AT=PGD-AT", "--metrics", "pgd20",
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    row = next(line for line in printed.splitlines() if line.startswith("| AGAIN-PGD-AT |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:10] == ["AGAIN-PGD-AT", "PGD-AT", "pgd20", "0,1,2", "65.00 / 65.00 / 59.00",
                          "62.00 / 61.00 / 54.00", "+3.00 / +4.00 / +5.00", "15, 12 / 15, 11 / 9, 4",
                          "0.701 / 0.557 / 0.267", "+4.00 [-13.03, +21.03]"]
    low, high = map(float, re.findall(r"[+-]\d+\.\d+", cells[10])[1:])
    assert low < 4.0 < high and cells[11:] == ["not resolved", "no"]
    assert math.isclose(stats.mcnemar_p(9, 4), 0.2668, abs_tol=1e-4)  # 2 * 1093 / 8192 (C(13, <= 4))


def _worst_folder(tmp_path):
    """A worst.csv (bench.transfer) beside two cells: PGD-AT without ASE, AGAIN-PGD-AT with the
    transfer attacks (on 6 images, of which the table's 4 come first)."""
    table = {"AGAIN-PGD-AT": ([1, 1, 1, 0], [1, 1, 0, 0]), "PGD-AT": ([1, 0, 1, 0], [1, 0, 1, 1])}
    rows = []
    for row, method in [("AGAIN-PGD-AT", "again_pgd_at"), ("PGD-AT", "pgd_at")]:
        pgd20, aa = table[row]
        write_cell(tmp_path, row, "main", method, 0, {"aa": {"clean": [1] * 4, "pgd20": pgd20, "aa": aa}})
        rows.append({"row": row, "group": "main", "method": method, "seed": 0, "examples": 4,
                     "table_worst": float(np.mean(np.minimum(pgd20, aa)))})
    with (tmp_path / "again-pgd-at-s0" / "transfer_per_example.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["index", "label", "head1", "worst"]] + [[i, i % 10, 1, int(i != 1)]
                                                                           for i in range(6)])
    rows[0] |= {"transfer": 0.75, "worst": 0.25}  # images 0-3: transfer 1, 0, 1, 1; both 1, 0, 0, 0
    rows[1] |= {"transfer": "", "worst": rows[1]["table_worst"]}
    with (tmp_path / "worst.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return tmp_path / "worst.csv"


def test_worst_csv_columns_are_rebuilt_per_image_with_the_transfer_attacks(tmp_path):
    results = read_results(_worst_folder(tmp_path))
    assert results.metrics == ["table_worst", "transfer", "worst"]
    table, transfer, worst = compare(results, [("AGAIN-PGD-AT", "PGD-AT")], list(WORST_METRICS))
    assert (table.seeds[0].row, table.seeds[0].base) == pytest.approx((50.0, 50.0))
    assert (table.seeds[0].b, table.seeds[0].c) == (1, 1)  # image 1 for the row, image 2 for the base
    assert transfer.seeds == ()  # PGD-AT has no transfer attacks
    assert (worst.seeds[0].row, worst.seeds[0].b, worst.seeds[0].c) == (25.0, 0, 1)
    with pytest.raises(ConfigError, match="main_per_example.csv: missing; pass the --evaluation"):
        compare(results, [("AGAIN-PGD-AT", "PGD-AT")], ["worst"], evaluation="main")
