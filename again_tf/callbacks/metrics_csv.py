"""metrics.csv: one row per epoch and one column per key any epoch logged.

Keras' CSVLogger fixes its columns at the first epoch, so a value measured every few epochs (the
generalization gap, the attribution span) had to be logged as NaN on the other epochs and then
filtered out again before TensorBoard. Here a key seen for the first time adds a column (earlier
rows get an empty cell), an epoch that did not log a key gets an empty cell, and a resumed run
keeps its rows and the order of its columns. The file holds one short row per epoch, so it is
rewritten whole at each epoch end, atomically: a kill at any moment leaves a complete file.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import keras


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a metrics.csv ([] and [] when the file is missing or empty)."""
    if not path.is_file():
        return [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def write_rows(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Replaces the file in one rename; a missing cell is empty."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def column_values(path: Path, column: str) -> list[float]:
    """The values of ``column`` on the epochs that logged it."""
    return [float(row[column]) for row in read_rows(path)[1] if row.get(column)]


def keep_epochs_before(path: Path, first_epoch: int) -> None:
    """Drops the rows of the epochs a resumed run will run (again), so each epoch has one row."""
    columns, rows = read_rows(path)
    if columns:
        write_rows(path, columns, [row for row in rows if int(row["epoch"]) < first_epoch])


class MetricsCSV(keras.callbacks.Callback):
    """Writes the epoch logs to ``path``; comes after every callback that adds to the logs."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self.columns: list[str] = []
        self.rows: dict[int, dict] = {}

    def on_train_begin(self, logs=None):
        columns, rows = read_rows(self.path)
        self.columns = columns or ["epoch"]
        self.rows = {int(row["epoch"]): row for row in rows}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.columns += sorted(key for key in logs if key not in self.columns)
        self.rows[epoch] = {"epoch": epoch, **logs}
        write_rows(self.path, self.columns, [self.rows[e] for e in sorted(self.rows)])
