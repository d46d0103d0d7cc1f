"""Curves from run folders' metrics.csv: the generalization gap (the paper's figure) and any logged
metric by epoch; the library side of ``training.analyze gap`` and ``curves``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from again_tf.callbacks.metrics_csv import read_rows
from again_tf.errors import ConfigError
from again_tf.run.loaded_run import check_same_dataset

GAP_COLUMNS = ("gap_train_clean", "gap_test_clean", "gap_train_pgd10", "gap_test_pgd10")


def metrics_rows(run: Path) -> list[dict]:
    """The rows of a run's metrics.csv, one per epoch."""
    path = run / "metrics.csv"
    if not path.is_file():
        raise ConfigError(f"{run}: no metrics.csv; give a run folder written by training.train.")
    return read_rows(path)[1]


def read_gap(run: Path) -> dict[str, np.ndarray]:
    """The gap columns of a run's metrics.csv, rows where they were measured."""
    rows = metrics_rows(run)
    if not rows or any(c not in rows[0] for c in GAP_COLUMNS):
        raise ConfigError(f"{run}: metrics.csv has no gap curves; train with --eval.gap_examples 512 "
                          "(clean and PGD-10 accuracy on fixed train/test subsets each epoch).")
    values = np.array([[_number(r[c]) for c in GAP_COLUMNS] for r in rows])
    measured = np.isfinite(values).all(axis=1)  # empty on the epochs gap_every skipped
    if not measured.any():
        raise ConfigError(f"{run}: metrics.csv has gap columns but no epoch measured them; train "
                          "for at least --eval.gap_every epochs.")
    out = {"epoch": np.array([int(r["epoch"]) + 1 for r in rows])[measured]}
    out.update({c: values[measured, i] for i, c in enumerate(GAP_COLUMNS)})
    return out


def _number(text: str | None) -> float:
    """A metrics.csv cell as a float, NaN for a value the epoch did not log: an empty cell (or
    "NA"/"nan", as runs written with Keras' CSVLogger have them)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def gap_summary(name: str, curves: dict) -> str:
    best = int(np.argmax(curves["gap_test_pgd10"]))
    lines = [f"{name}:"]
    for label, i in (("best", best), ("last", len(curves["epoch"]) - 1)):
        std = curves["gap_train_clean"][i] - curves["gap_test_clean"][i]
        rob = curves["gap_train_pgd10"][i] - curves["gap_test_pgd10"][i]
        lines.append(f"  {label} (epoch {curves['epoch'][i]}): test PGD-10 "
                     f"{100 * curves['gap_test_pgd10'][i]:.2f}%, robust gap {100 * rob:+.2f} points, "
                     f"standard gap {100 * std:+.2f} points")
    return "\n".join(lines)


def _style(ax, title: str, ylabel: str) -> None:
    """Per-epoch curves: integer epochs, a light grid, the runs' legend."""
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _save(fig: Figure, out: Path) -> None:
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def plot_gap(runs: list[Path], out: Path) -> str:
    check_same_dataset(runs)
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    summaries = []
    for run in runs:
        curves = read_gap(run)
        for ax, kind in zip(axes, ("clean", "pgd10")):
            line, = ax.plot(curves["epoch"], curves[f"gap_train_{kind}"], label=f"{run.name} train")
            ax.plot(curves["epoch"], curves[f"gap_test_{kind}"], "--", color=line.get_color(),
                    label=f"{run.name} test")
        summaries.append(gap_summary(run.name, curves))
    for ax, title in zip(axes, ("(a) Standard generalization", "(b) Robust generalization (PGD-10)")):
        _style(ax, title, "accuracy")
    _save(fig, out)
    return "\n".join(summaries)


def read_metrics(run: Path, metrics: list[str]) -> dict[str, np.ndarray]:
    rows = metrics_rows(run)
    missing = [m for m in metrics if not rows or m not in rows[0]]
    if missing:
        allowed = ", ".join(c for c in (rows[0] if rows else {}) if c != "epoch")
        raise ConfigError(f"{run}: metrics.csv has no {', '.join(missing)}; it has: {allowed}.")
    out = {"epoch": np.array([int(r["epoch"]) + 1 for r in rows])}
    out.update({m: np.array([_number(r[m]) for r in rows]) for m in metrics})  # NaN: not logged
    return out


def plot_curves(runs: list[Path], metrics: list[str], out: Path) -> str:
    """One panel per metric, one line per run; prints each run's values per epoch."""
    fig = Figure(figsize=(5.5 * len(metrics), 4))
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    lines = []
    for run in runs:
        curves = read_metrics(run, metrics)
        for ax, metric in zip(axes, metrics):
            ax.plot(curves["epoch"], curves[metric], marker="o", label=run.name)
            values = " ".join(f"{v:.4f}" for v in curves[metric])
            lines.append(f"{run.name} {metric} by epoch: {values}")
    for ax, metric in zip(axes, metrics):
        _style(ax, metric, metric)
    _save(fig, out)
    return "\n".join(lines)
