"""Does a row of a grid beat its base row? Paired statistics on the per-image results of its cells.

    python -m bench.compare docs/results/fashion_mnist_release [--versus "ROW=BASE" ...]
        [--metrics clean,pgd20,aa] [--min-gain 1.0] [--output comparison.md]
    python -m bench.compare docs/results/fashion_mnist_release/worst.csv --metrics table_worst,worst

The table (results.csv, or worst.csv from bench.transfer) names the rows and seeds; the numbers
come from each cell's per-image correctness beside it (``<cell>/<evaluation>_per_example.csv``,
and ``transfer_per_example.csv`` for worst.csv), checked against the table's accuracy. Seed s of
a row is paired with seed s of its base (same initialisation seed and data order) on the same
test images. Without ``--versus`` an AGAIN row is compared with the first row of its group that
trains the same base method without sites (``config.parse_method``: AGAIN-TRADES with TRADES,
``again_awp`` with ``awp_pgd_at``).

Per seed: the paired gain in points, b / c (images the row gets right and the base wrong / the
reverse) and the exact McNemar p-value. Over k seeds: the mean gain with a 95% interval, mean +-
t(k - 1) sqrt(s^2 / k + V), where s^2 is the per-seed gains' variance (the seeds' noise) and V the
variance that the choice of test images adds, which the seeds share and so does not average out
(``bench.paired_stats``; the t quantile is 12.71 with 2 seeds, so intervals are wide), and the
verdict read from it:

* ``better`` / ``worse``: the interval's lower end is above 0 / its upper end below 0;
* ``not resolved``: the interval holds 0;
* ``1 seed``: no interval; read the seed's McNemar p-value.

``helps by >= X`` (``--min-gain``, the bar for adding a preset) is ``yes``
only when the interval's lower end is above X. A bootstrap over seeds and images is printed as a
cross-check; the verdict does not use it (see ``bench.paired_stats``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from again_tf.config.schema import parse_method
from again_tf.errors import ConfigError
from bench import paired_stats as stats

TABLE_FIELDS = ("row", "group", "method", "seed", "examples", "train_seconds", "eval_seconds", "warnings")
WORST_METRICS = ("table_worst", "transfer", "worst")  # worst.csv's columns (bench.transfer)


@dataclass(frozen=True)
class Results:
    path: Path  # results.csv or worst.csv; the cells' folders are beside it
    rows: list[dict]

    @property
    def worst(self) -> bool:
        return bool(self.rows) and "table_worst" in self.rows[0]

    @property
    def metrics(self) -> list[str]:
        """The columns with per-image statistics."""
        columns = list(self.rows[0]) if self.rows else []
        return [c for c in columns if c not in TABLE_FIELDS and (c in WORST_METRICS) == self.worst]


@dataclass(frozen=True)
class Scored:
    """One cell's 0/1 correctness per image on one metric, with the images' index and label."""
    correct: np.ndarray
    index: np.ndarray
    label: np.ndarray
    source: str  # the file it was read from, for messages


@dataclass(frozen=True)
class SeedGain:
    seed: int
    row: float  # accuracy %, on the images both are scored on
    base: float
    b: int  # images the row gets right and the base wrong
    c: int  # the reverse
    n: int
    differences: np.ndarray = field(compare=False, repr=False)  # per image: +1 (b), -1 (c), 0

    @property
    def gain(self) -> float:
        return 100 * (self.b - self.c) / self.n

    @property
    def p(self) -> float:
        return stats.mcnemar_p(self.b, self.c)


@dataclass(frozen=True)
class Comparison:
    row: str
    base: str
    metric: str
    seeds: tuple[SeedGain, ...]

    @property
    def gains(self) -> tuple[float, ...]:
        return tuple(s.gain for s in self.seeds)

    @property
    def interval(self) -> stats.Interval | None:
        if len(self.seeds) < 2:
            return None
        return stats.t_interval(self.gains, image_variance=stats.shared_image_variance(
            [s.differences for s in self.seeds]))

    @property
    def bootstrap(self) -> stats.Interval | None:
        return stats.bootstrap_interval([s.differences for s in self.seeds])

    @property
    def verdict(self) -> str:
        return stats.verdict(self.interval, len(self.seeds))

    def helps_by(self, points: float) -> bool:
        return stats.helps_by(self.interval, points)


def read_results(path: Path) -> Results:
    """A grid's results.csv (a results folder or the file itself) or bench.transfer's worst.csv."""
    path = path / "results.csv" if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(f"{path}: no results.csv; pass a grid's results folder (bench.reproduce "
                          "--results-dir), its results.csv, or its worst.csv (bench.transfer).")
    with path.open(newline="") as f:
        return Results(path, list(csv.DictReader(f)))


def default_pairs(results: list[dict]) -> list[tuple[str, str]]:
    """(row, base) for every AGAIN row whose group has a row of the same base method (and AWP or
    not) without sites."""
    keyed = []
    for r in results:
        base, awp, sites = parse_method(r["method"])
        keyed.append((r["row"], (r["group"], base, awp), sites))
    first = {}
    for row, key, sites in keyed:
        if not sites:
            first.setdefault(key, row)
    pairs = {row: first[key] for row, key, sites in keyed if sites == "again" and key in first}
    return list(pairs.items())


def parse_pair(text: str) -> tuple[str, str]:
    row, sep, base = text.partition("=")
    if not sep or not row.strip() or not base.strip():
        raise ConfigError(f"--versus {text!r}: write ROW=BASE with the two rows' names in the table.")
    return row.strip(), base.strip()


def cell_dirs(folder: Path) -> dict[tuple[str, int], Path]:
    """(row, seed) -> the cell's folder, from every ``<cell>/cell.json`` in the results folder."""
    found = {}
    for path in sorted(folder.glob("*/cell.json")):
        summary = json.loads(path.read_text())
        found[(summary["row"], int(summary["seed"]))] = path.parent
    return found


def _per_example_path(cell_dir: Path, evaluation: str) -> Path:
    """A run folder's ``eval/<evaluation>/per_example.csv``, else a results folder's copy of it."""
    in_run = cell_dir / "eval" / evaluation / "per_example.csv"
    return in_run if in_run.is_file() else cell_dir / f"{evaluation}_per_example.csv"


def _columns(path: Path) -> dict[str, np.ndarray]:
    """A per_example.csv's integer columns (index, label, 0/1 per attack). Read here rather than
    with again_tf.evaluation.report, which imports TensorFlow: seconds for a table."""
    if not path.is_file():
        raise ConfigError(f"{path}: missing; per-image statistics need each cell's per-example files "
                          "(bench.reproduce --results-dir copies them beside cell.json).")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    names = list(rows[0]) if rows else []
    if "index" not in names or "label" not in names:
        raise ConfigError(f"{path}: no images listed (no rows, or no index and label columns); "
                          "per-image statistics need the per_example.csv training.evaluate wrote.")
    return {k: np.array([int(r[k]) for r in rows]) for k in names
            if all(r[k].lstrip("-").isdigit() for r in rows)}


def _table_worst(columns: dict[str, np.ndarray]) -> np.ndarray:
    """1 where the image survived every attack of the evaluation, as bench.transfer.table_worst
    (every column but index, label, clean and the ``<attack>:<part>`` details)."""
    attacks = [v for k, v in columns.items() if k not in ("index", "label", "clean") and ":" not in k]
    if not attacks:
        raise ConfigError("a per_example.csv without attack columns has no worst case; compare metrics "
                          "of evaluations that ran attacks.")
    return np.minimum.reduce(attacks)


def _read(path: Path, column: str, supported: list[str]) -> Scored:
    columns = _columns(path)
    if column not in columns:
        raise ConfigError(f"{path}: no per-image column {column!r}; metrics with per-image statistics "
                          f"here: {', '.join(supported)}.")
    return Scored(columns[column], columns["index"], columns["label"], str(path))


def _scored_results(cell_dir: Path, metric: str, supported: list[str]) -> Scored:
    """A results.csv column: the first evaluation whose value is the cell's (bench.reproduce fills
    the column from the first evaluation of the last weights with it); ``worst_<evaluation>``:
    that evaluation's ``worst`` column."""
    if metric.startswith("worst_"):
        return _read(_per_example_path(cell_dir, metric.removeprefix("worst_")), "worst", supported)
    summary = json.loads((cell_dir / "cell.json").read_text())
    value = summary.get("accuracy", {}).get(metric)
    evaluation = next((name for name, acc in summary.get("evaluations", {}).items()
                       if metric in acc and acc[metric] == value), None)
    if evaluation is None:
        raise ConfigError(f"{cell_dir}/cell.json: no evaluation measured {metric!r}; metrics with "
                          f"per-image statistics: {', '.join(supported)}.")
    return _read(_per_example_path(cell_dir, evaluation), metric, supported)


def _scored_worst(cell_dir: Path, metric: str, evaluation: str) -> Scored:
    """worst.csv's columns, rebuilt as bench.transfer builds them: ``table_worst`` survives every
    attack of the evaluation, ``transfer`` every transfer attack, ``worst`` both."""
    path = _per_example_path(cell_dir, evaluation)
    if not path.is_file():
        raise ConfigError(f"{path}: missing; pass the --evaluation bench.transfer ran on (the prefix "
                          "of the cells' <name>_per_example.csv files).")
    columns = _columns(path)
    table = Scored(_table_worst(columns), columns["index"], columns["label"], str(path))
    path = cell_dir / "transfer_per_example.csv"
    if metric == "table_worst" or (metric == "worst" and not path.is_file()):
        return table
    transfer = _read(path, "worst", list(WORST_METRICS))
    n = len(table.index)
    if not np.array_equal(transfer.index[:n], table.index):
        raise ConfigError(f"{path}: its images are not the first {n} of {table.source}; pass the "
                          "--evaluation bench.transfer ran on.")
    both = np.minimum(table.correct, transfer.correct[:n])
    return Scored(transfer.correct[:n] if metric == "transfer" else both, table.index, table.label,
                  f"{table.source} and {path.name}")


def scored(results: Results, cells: dict, row: str, seed: int, metric: str, evaluation: str) -> Scored:
    """The cell's per-image correctness on ``metric``, refused unless its mean is the table's value."""
    cell_dir = cells.get((row, seed))
    if cell_dir is None:
        raise ConfigError(f"{results.path.parent}: no <cell>/cell.json for {row!r} seed {seed}; per-image "
                          "statistics need the results folder bench.reproduce --results-dir wrote.")
    found = (_scored_worst(cell_dir, metric, evaluation) if results.worst
             else _scored_results(cell_dir, metric, results.metrics))
    expected = next(float(r[metric]) for r in results.rows if r["row"] == row and int(r["seed"]) == seed)
    if abs(float(np.mean(found.correct)) - expected) > 1e-6:
        hint = " (for worst.csv, pass the --evaluation bench.transfer ran on)" if results.worst else ""
        raise ConfigError(f"{row!r} seed {seed}, {metric}: {found.source} gives "
                          f"{100 * np.mean(found.correct):.2f}% but {results.path.name} says "
                          f"{100 * expected:.2f}%; the per-example file is not the one behind the "
                          f"table: gather the table and the files from the same runs{hint}.")
    return found


def _same_images(a: Scored, b: Scored, where: str) -> None:
    if not (np.array_equal(a.index, b.index) and np.array_equal(a.label, b.label)):
        raise ConfigError(f"{where}: {a.source} ({len(a.index)} images) and {b.source} ({len(b.index)}) "
                          "do not list the same images in the same order; pair cells evaluated on the "
                          "same test images (the same evaluation and n), or leave this metric out.")


def _seed_gain(results: Results, cells: dict, pair: tuple[str, str], metric: str, seed: int,
               evaluation: str) -> SeedGain:
    mine, theirs = (scored(results, cells, name, seed, metric, evaluation) for name in pair)
    _same_images(mine, theirs, f"{pair[0]!r} vs {pair[1]!r} seed {seed}, {metric}")
    b, c = stats.discordant(mine.correct, theirs.correct)
    differences = np.asarray(mine.correct, dtype=int) - np.asarray(theirs.correct, dtype=int)
    return SeedGain(seed, 100 * float(np.mean(mine.correct)), 100 * float(np.mean(theirs.correct)),
                    b, c, len(mine.correct), differences)


def _seeds(rows: list[dict], row: str, metric: str) -> set[int]:
    return {int(r["seed"]) for r in rows if r["row"] == row and r.get(metric, "") != ""}


def _check_request(results: Results, pairs: list[tuple[str, str]], metrics: list[str]) -> None:
    rows = {r["row"] for r in results.rows}
    for name in [n for pair in pairs for n in pair]:
        if name not in rows:
            raise ConfigError(f"no row {name!r} in the results; rows: {', '.join(sorted(rows))}.")
    for metric in metrics:
        if metric not in results.metrics:
            raise ConfigError(f"no metric {metric!r} with per-image statistics in {results.path.name}; "
                              f"metrics: {', '.join(sorted(results.metrics))}.")


def compare(results: Results, pairs: list[tuple[str, str]], metrics: list[str],
            evaluation: str = "aa") -> list[Comparison]:
    """One comparison per pair and metric, over the seeds both rows finished. ``evaluation``: for
    worst.csv, the evaluation bench.transfer ran on (its --evaluation)."""
    _check_request(results, pairs, metrics)
    cells = cell_dirs(results.path.parent)
    out = []
    for row, base in pairs:
        for metric in metrics:
            seeds = sorted(_seeds(results.rows, row, metric) & _seeds(results.rows, base, metric))
            gains = tuple(_seed_gain(results, cells, (row, base), metric, s, evaluation) for s in seeds)
            if len({g.n for g in gains}) > 1:
                raise ConfigError(f"{row!r} vs {base!r}, {metric}: the seeds were scored on "
                                  f"{sorted({g.n for g in gains})} images; a grid's seeds share their "
                                  f"images.")
            out.append(Comparison(row, base, metric, gains))
    return out


def _p_text(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _interval_text(interval: stats.Interval | None) -> str:
    return "-" if interval is None else f"{interval.mean:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"


def _line(c: Comparison, min_gain: float) -> str:
    if not c.seeds:
        return f"| {c.row} | {c.base} | {c.metric} | - | - | - | - | - | - | - | - | {c.verdict} | - |"
    cells = [",".join(str(s.seed) for s in c.seeds),
             " / ".join(f"{s.row:.2f}" for s in c.seeds), " / ".join(f"{s.base:.2f}" for s in c.seeds),
             " / ".join(f"{s.gain:+.2f}" for s in c.seeds), " / ".join(f"{s.b}, {s.c}" for s in c.seeds),
             " / ".join(_p_text(s.p) for s in c.seeds), _interval_text(c.interval),
             _interval_text(c.bootstrap), c.verdict,
             "-" if c.interval is None else ("yes" if c.helps_by(min_gain) else "no")]
    return f"| {c.row} | {c.base} | {c.metric} | " + " | ".join(cells) + " |"


def markdown(comparisons: list[Comparison], min_gain: float) -> str:
    """The table, then what its columns mean (the file is read without this module at hand)."""
    lines = ["| Row | vs base | metric | seeds | row % | base % | gain per seed (pts) | b, c per seed | "
             "McNemar p per seed | mean gain [95% interval] | bootstrap 95% (cross-check) | verdict | "
             f"helps by >= {min_gain:g} |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_line(c, min_gain) for c in comparisons]
    lines += ["", "Paired on the same test images, seed s of the row against seed s of the base. b, c: "
              "images the row gets right and the base wrong, and the reverse; p: exact two-sided McNemar "
              "test on them. Interval over k seeds: mean gain +- t(k-1) sqrt(s^2 / k + V), s^2 the "
              "per-seed gains' variance, V the variance the shared test images add (the per-image "
              "difference averaged over seeds, over the number of images); t = 12.71 for 2 seeds. "
              "Verdict from that interval: better / worse when it excludes 0; "
              f"helps by >= {min_gain:g}: its lower end is above {min_gain:g}. Bootstrap: seeds and, "
              "in the same draw, the shared images resampled (2000 draws, seed 0); too narrow with "
              "few seeds, a cross-check only."]
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="a grid's results folder, its results.csv or worst.csv")
    p.add_argument("--versus", nargs="+", default=None, metavar="ROW=BASE",
                   help="pairs to compare (default: every again_X row with its group's X row)")
    p.add_argument("--metrics", default="clean,pgd20,aa", help="the table's columns, comma-separated")
    p.add_argument("--min-gain", type=float, default=1.0,
                   help="points the interval's lower end must clear for 'helps by >= X'")
    p.add_argument("--evaluation", default="aa",
                   help="for worst.csv: the evaluation bench.transfer ran on (its --evaluation)")
    p.add_argument("--output", type=Path, default=None, help="also write the table here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = read_results(args.results)
        pairs = [parse_pair(p) for p in args.versus] if args.versus else default_pairs(results.rows)
        if not pairs:
            raise ConfigError("no AGAIN row has a row of its base method in its group; "
                              "name the pairs with --versus ROW=BASE.")
        metrics = [m.strip() for m in args.metrics.split(",")]
        table = markdown(compare(results, pairs, metrics, args.evaluation), args.min_gain)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table, end="")
    if args.output is not None:
        args.output.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
