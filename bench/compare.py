"""Does a row of a grid beat its base row beyond the spread of seeds? Reads a grid's results.csv.

    python -m bench.compare docs/results/fashion_mnist_release [--versus "ROW=BASE" ...]
        [--metrics clean,pgd20,aa] [--min-gain 1.0] [--output comparison.md]

Each pair compares the seeds both rows finished, seed by seed (a seed fixes the initialisation
and the data order, so seed s of a row is paired with seed s of its base). Without ``--versus``
an AGAIN row is compared with the first row of its group that trains the same base method
without sites (``config.parse_method``: AGAIN-TRADES with TRADES, ``again_awp`` with
``awp_pgd_at``). The verdict per metric:

* ``better`` / ``worse``: every seed of the row is above / below every seed of the base (beyond
  the spread of seeds);
* ``within``: the ranges overlap;
* ``1 seed``: no spread to compare with yet.

``gain >= X on every seed`` says whether the row beats its base by at least ``--min-gain`` points
on each paired seed: the bar the issue-17 grid sets for adding a preset.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from again_tf.config.schema import parse_method
from again_tf.errors import ConfigError


@dataclass(frozen=True)
class Comparison:
    row: str
    base: str
    metric: str
    seeds: tuple[int, ...]
    row_values: tuple[float, ...]  # accuracy in %, one per paired seed
    base_values: tuple[float, ...]

    @property
    def gains(self) -> tuple[float, ...]:
        return tuple(r - b for r, b in zip(self.row_values, self.base_values))

    @property
    def verdict(self) -> str:
        if len(self.seeds) < 2:
            return "1 seed"
        if min(self.row_values) > max(self.base_values):
            return "better"
        if max(self.row_values) < min(self.base_values):
            return "worse"
        return "within"

    def gains_at_least(self, points: float) -> bool:
        return len(self.seeds) >= 2 and all(g >= points for g in self.gains)


def read_results(path: Path) -> list[dict]:
    """The rows of a grid's results.csv (a results folder or the file itself)."""
    path = path / "results.csv" if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(f"{path}: no results.csv; pass a grid's results folder (bench.reproduce "
                          "--results-dir) or its results.csv.")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


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


def _by_seed(results: list[dict], row: str, metric: str) -> dict[int, float]:
    return {int(r["seed"]): 100 * float(r[metric]) for r in results
            if r["row"] == row and r.get(metric, "") != ""}


def compare(results: list[dict], pairs: list[tuple[str, str]], metrics: list[str]) -> list[Comparison]:
    """One comparison per pair and metric, over the seeds both rows finished."""
    rows = {r["row"] for r in results}
    columns = set(results[0]) if results else set()
    for name in [n for pair in pairs for n in pair]:
        if name not in rows:
            raise ConfigError(f"no row {name!r} in the results; rows: {', '.join(sorted(rows))}.")
    for metric in metrics:
        if metric not in columns:
            raise ConfigError(f"no metric {metric!r} in the results; columns: {', '.join(sorted(columns))}.")
    out = []
    for row, base in pairs:
        for metric in metrics:
            mine, theirs = _by_seed(results, row, metric), _by_seed(results, base, metric)
            seeds = tuple(sorted(set(mine) & set(theirs)))
            out.append(Comparison(row, base, metric, seeds, tuple(mine[s] for s in seeds),
                                  tuple(theirs[s] for s in seeds)))
    return out


def markdown(comparisons: list[Comparison], min_gain: float) -> str:
    lines = [f"| Row | vs base | metric | seeds | row % | base % | gain (pts) per seed | verdict | "
             f"gain >= {min_gain:g} on every seed |", "|---|---|---|---|---|---|---|---|---|"]
    for c in comparisons:
        if not c.seeds:
            lines.append(f"| {c.row} | {c.base} | {c.metric} | 0 | - | - | - | no paired seed | - |")
            continue
        values = [" / ".join(f"{v:.2f}" for v in vs) for vs in (c.row_values, c.base_values)]
        gains = " / ".join(f"{g:+.2f}" for g in c.gains)
        bar = "yes" if c.gains_at_least(min_gain) else "no"
        lines.append(f"| {c.row} | {c.base} | {c.metric} | {','.join(map(str, c.seeds))} | {values[0]} | "
                     f"{values[1]} | {gains} | {c.verdict} | {bar} |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="a grid's results folder or results.csv")
    p.add_argument("--versus", nargs="+", default=None, metavar="ROW=BASE",
                   help="pairs to compare (default: every again_X row with its group's X row)")
    p.add_argument("--metrics", default="clean,pgd20,aa", help="results.csv columns, comma-separated")
    p.add_argument("--min-gain", type=float, default=1.0, help="points a row must gain on every seed")
    p.add_argument("--output", type=Path, default=None, help="also write the table here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = read_results(args.results)
        pairs = [parse_pair(p) for p in args.versus] if args.versus else default_pairs(results)
        if not pairs:
            raise ConfigError("no AGAIN row has a row of its base method in its group; "
                              "name the pairs with --versus ROW=BASE.")
        table = markdown(compare(results, pairs, [m.strip() for m in args.metrics.split(",")]),
                         args.min_gain)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table, end="")
    if args.output is not None:
        args.output.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
