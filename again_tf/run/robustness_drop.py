"""The warning that a run's last model is not its most robust one.

Validation robust accuracy that ends more than ``DROP_POINTS`` below its best epoch is the sign of
robust overfitting (Rice et al. 2020) or of the sudden catastrophic overfitting of few-step
training attacks (Wong et al. 2020), which mask the gradients that PGD follows: one run of the
release-like grid (docs/results.md) fell 14.4 points in its last epoch, where PGD-20 read 55.85% and
AutoAttack 7.50%. ``checkpoints/best_robust.keras`` keeps the best epoch.
"""

from __future__ import annotations

from pathlib import Path

from again_tf.callbacks.metrics_csv import read_rows
from again_tf.run.callbacks import BEST_ROBUST_MONITOR

DROP_POINTS = 5.0


def validation_robust_curve(metrics_csv: Path) -> list[tuple[int, float]]:
    """(epoch from 1, validation robust accuracy) of every epoch that logged it: the column
    best_robust.keras is chosen by."""
    return [(int(row["epoch"]) + 1, float(row[BEST_ROBUST_MONITOR])) for row in read_rows(metrics_csv)[1]
            if row.get(BEST_ROBUST_MONITOR)]


def best_epoch(curve: list[tuple[int, float]]) -> tuple[int, float]:
    """The epoch best_robust.keras holds: the first of highest validation robust accuracy."""
    return max(curve, key=lambda pair: pair[1])


def robustness_drop_warning(metrics_csv: Path, drop_points: float = DROP_POINTS) -> str | None:
    """A WARN line when the last epoch's validation robust accuracy is more than ``drop_points``
    below the best epoch's, else None (also for a run that logged no validation). The column is
    the one best_robust.keras is chosen by, so the epoch the warning names is the one it holds."""
    values = validation_robust_curve(metrics_csv)
    if not values:
        return None
    best_at, best = best_epoch(values)
    last_epoch, last = values[-1]
    if 100 * (best - last) <= drop_points:
        return None
    return (f"WARN  validation robust accuracy fell from {100 * best:.2f}% (epoch {best_at}) to "
            f"{100 * last:.2f}% (epoch {last_epoch}): robust or catastrophic overfitting, which PGD alone "
            f"can miss; evaluate the last weights with AutoAttack, and checkpoints/best_robust.keras "
            f"(epoch {best_at}) too: python -m training.evaluate RUN [--checkpoint best_robust] "
            f"--attacks clean,pgd20,aa.")
