"""A grid's finished cells gathered into results.csv and the seed's table (rows = methods,
columns = Clean, PGD-10, ..., AA; mean and min-max over seeds), and copied with their raw files
to a results folder.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from again_tf.evaluation import parse_attacks
from bench.grid import Cell, Grid, columns, worst_columns


def _worst(summary: dict, evaluation: str):
    """A cell's worst case on one evaluation, "" when its evaluation predates the column."""
    return summary.get("evaluations", {}).get(evaluation, {}).get("worst", "")


def _cell_text(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * np.mean(values):.2f} ({100 * min(values):.2f}-{100 * max(values):.2f})"


def markdown(grid: Grid, summaries: list[dict]) -> str:
    """One table per group (main, then ablations) in the seed's layout; accuracies in %. A column
    from another evaluation than the first (other images) is marked with its name."""
    sources, first = columns(grid), grid.evaluate[0]["name"]
    specs = list(sources)
    labels = [s.label if sources[s] == first else f"{s.label} ({sources[s]})" for s in specs]
    worst = first in worst_columns(grid).values()
    labels += ["Worst case"] if worst else []
    lines = []
    for group in dict.fromkeys(c.group for c in grid.cells):
        lines += [f"**{group}** (accuracy %, mean (min-max) over seeds)", "",
                  "| Method | seeds | " + " | ".join(labels) + " | train min/cell |",
                  "|---|---|" + "---|" * (len(labels) + 1)]
        for row in grid.rows:
            done = [s for s in summaries if s["row"] == row and s["group"] == group]
            if not done and not any(c.row == row and c.group == group for c in grid.cells):
                continue
            cells = [_cell_text([d["accuracy"][s.name] for d in done if s.name in d["accuracy"]])
                     for s in specs]
            if worst:
                cells.append(_cell_text([v for v in (_worst(d, first) for d in done) if v != ""]))
            minutes = f"{np.mean([d['train_seconds'] for d in done]) / 60:.1f}" if done else "-"
            lines.append(f"| {row} | {len(done)} | " + " | ".join(cells) + f" | {minutes} |")
        lines.append("")
    for spec in grid.evaluate[1:]:
        lines += _evaluation_table(grid, spec, summaries)
    lines += [f"* {e['name']}: {e['attacks']} on the first {e.get('n', 'all')} test images"
              + (", checkpoint best_robust" if e["checkpoint"] == "best_robust" else "")
              + (f", groups {', '.join(e['groups'])}" if "groups" in e else "")
              + (f", seeds {', '.join(map(str, e['seeds']))}" if "seeds" in e else "")
              for e in grid.evaluate] + [""]
    return "\n".join(lines)


def _evaluation_table(grid: Grid, spec: dict, summaries: list[dict]) -> list[str]:
    """An extra evaluation's own columns, on its own images (e.g. AA beside PGD-20 on the same
    300 images), for the rows that ran it: the main table takes each column from one evaluation."""
    specs = parse_attacks(spec["attacks"])
    names, labels = [s.name for s in specs], [s.label for s in specs]
    if spec["name"] in worst_columns(grid).values():
        names, labels = names + ["worst"], labels + ["Worst case"]
    lines = [f"**{spec['name']}** ({spec['attacks']} on the first {spec.get('n', 'all')} test images; "
             "accuracy %, mean (min-max) over seeds)", "",
             "| Method | seeds | " + " | ".join(labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for row in grid.rows:
        done = [s["evaluations"][spec["name"]] for s in summaries
                if s["row"] == row and spec["name"] in s.get("evaluations", {})]
        if done:
            cells = [_cell_text([d[n] for d in done if n in d]) for n in names]
            lines.append(f"| {row} | {len(done)} | " + " | ".join(cells) + " |")
    return lines + [""]


def finished_summary(cell: Cell, root: Path, results_dir: Path | None) -> Path | None:
    """The cell's ``cell.json``: in its run folder, else in the results folder, else None."""
    for path in (root / cell.id / "cell.json", results_dir / cell.id / "cell.json" if results_dir else None):
        if path is not None and path.is_file():
            return path
    return None


def finished_summaries(grid: Grid, root: Path, results_dir: Path | None) -> list[dict]:
    paths = [finished_summary(c, root, results_dir) for c in grid.cells]
    return [json.loads(p.read_text()) for p in paths if p is not None]


def gather(grid: Grid, root: Path, results_dir: Path | None, copy: bool = True) -> list[dict]:
    """Every finished cell's summary; writes results.csv and table.md to the grid folder (and,
    with ``copy``, copies them with the per-cell raw files to ``results_dir``)."""
    summaries = finished_summaries(grid, root, results_dir)
    specs, worst = list(columns(grid)), worst_columns(grid)
    with (root / "results.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "group", "method", "seed", *[s.name for s in specs], *worst,
                         "train_seconds", "eval_seconds", "warnings"])
        for s in summaries:
            writer.writerow([s["row"], s["group"], s["method"], s["seed"],
                             *[s["accuracy"].get(sp.name, "") for sp in specs],
                             *[_worst(s, e) for e in worst.values()], s["train_seconds"],
                             s["eval_seconds"], ";".join(s["warnings"])])
    (root / "table.md").write_text(markdown(grid, summaries))
    if results_dir is not None and copy:
        _copy_results(grid, root, results_dir)
    return summaries


def _copy_results(grid: Grid, root: Path, results_dir: Path) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "table.md"):
        shutil.copy(root / name, results_dir / name)
    for cell in grid.cells:
        run_dir = root / cell.id
        if not (run_dir / "cell.json").is_file():
            continue
        target = results_dir / cell.id
        target.mkdir(exist_ok=True)
        for source in (run_dir / "cell.json", run_dir / "metrics.csv", run_dir / "final.json"):
            shutil.copy(source, target / source.name)
        if (run_dir / "masks.txt").is_file():
            shutil.copy(run_dir / "masks.txt", target / "masks.txt")
        for spec in grid.evaluate:
            for name in ("results.csv", "table.md", "per_example.csv"):
                source = run_dir / "eval" / spec["name"] / name
                if source.is_file():
                    shutil.copy(source, target / f"{spec['name']}_{name}")
