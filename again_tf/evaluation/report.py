"""The table in the seed's format (Markdown), its CSV and JSON, and the per-example CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from again_tf.evaluation.checks import Check

META = ("index", "label")
WORST_CASE = "worst"  # survives every attack of the table: the number to report


def with_worst_case(columns: dict[str, np.ndarray], specs) -> dict[str, np.ndarray]:
    """Adds ``worst`` (and ``worst:main``, the same over the main-head-only attacks a weaker
    evaluation runs, without the attacks past the masks) when the table has two attacks or more."""
    attacks = [s for s in specs if s.kind != "clean"]
    if len(attacks) < 2:
        return columns
    main = [columns.get(f"{s.name}:main", columns[s.name]) for s in attacks if s.kind != "transfer"]
    found = {WORST_CASE: np.minimum.reduce([columns[s.name] for s in attacks])}
    if main:
        found[f"{WORST_CASE}:main"] = np.minimum.reduce(main)
    return {**columns, **found}


def accuracies(columns: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean of every 0/1 column (attacks, their ``:main`` variants, sanity checks)."""
    return {k: float(np.mean(v)) for k, v in columns.items()
            if k not in META and np.asarray(v).dtype.kind in "iub"}


def markdown_table(row_name: str, acc: dict[str, float], specs) -> str:
    """``| Method | Clean | PGD-10 | ... | Worst case |``; a second row shows main-head-only
    attacks when any of them reports a higher accuracy than the worst case (the number a weaker
    evaluation gives; it has no attacks past the masks)."""
    names, labels = zip(*_table_columns(acc, specs))
    head = "| Method | " + " | ".join(labels) + " |"
    rule = "|---|" + "---|" * len(names)
    rows = [f"| {row_name} | " + " | ".join(_cell(acc, n) for n in names) + " |"]
    past = {s.name for s in specs if s.kind == "transfer"}
    if any(acc.get(f"{n}:main", acc.get(n)) != acc.get(n) for n in names):
        rows.append(f"| {row_name} (main head only) | "
                    + " | ".join(_cell(acc, f"{n}:main", None if n in past else n) for n in names) + " |")
    return "\n".join([head, rule, *rows])


def _table_columns(acc, specs) -> list[tuple[str, str]]:
    """``(name, label)`` of every column: the attacks, then the worst case when there is one."""
    return [(s.name, s.label) for s in specs] + ([(WORST_CASE, "Worst case")] if WORST_CASE in acc else [])


def _cell(acc, key, fallback=None) -> str:
    value = acc.get(key, acc.get(fallback)) if fallback else acc.get(key)
    return "-" if value is None else f"{100 * value:.2f}%"


def write_outputs(out_dir: Path, row_name: str, columns: dict, acc: dict, specs,
                  checks: list[Check], settings: dict) -> dict[str, Path]:
    """table.md, results.csv, results.json and per_example.csv in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(row_name, acc, specs)
    paths = {name: out_dir / name for name in ("table.md", "results.csv", "results.json",
                                               "per_example.csv")}
    lines = [table, "", *[c.line() for c in checks]]
    paths["table.md"].write_text("\n".join(lines) + "\n")
    with paths["results.csv"].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["attack", "label", "accuracy", "accuracy_main_head"])
        for name, label in _table_columns(acc, specs):
            writer.writerow([name, label, acc[name], acc.get(f"{name}:main", acc[name])])
    paths["results.json"].write_text(json.dumps({
        "model": row_name, "examples": int(len(columns["label"])), "settings": settings,
        "accuracy": acc, "checks": [c.__dict__ for c in checks],
    }, indent=2) + "\n")
    write_per_example(paths["per_example.csv"], columns)
    return paths


def read_per_example(path: Path) -> dict[str, np.ndarray]:
    """A per_example.csv back into its columns: integers where every value is one (index, label,
    0/1 per attack), text otherwise (e.g. ``aa:broken_by``)."""
    with path.open(newline="") as f:
        reader = csv.reader(f)
        names = next(reader, None)
        if names is None:
            raise ValueError(f"{path}: empty; a per_example.csv starts with its header row.")
        values = list(zip(*reader)) or [()] * len(names)
    return {name: _array(column) for name, column in zip(names, values)}


def _array(column) -> np.ndarray:
    try:
        return np.array([int(v) for v in column], dtype=np.int64)
    except ValueError:
        return np.array(column, dtype=str)


def write_per_example(path: Path, columns: dict) -> None:
    """One row per example, one column per key (index, label, 0/1 per attack, ...)."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(columns))
        writer.writerows(zip(*(np.asarray(v).tolist() for v in columns.values())))
