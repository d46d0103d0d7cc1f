"""The per-example record: which attack broke which example, one JSON line per batch.

Appending a line per finished batch makes an interrupted evaluation resumable: ``--resume``
skips the batches already in the file, provided the header (model, settings, attacks, n)
matches; anything else is refused rather than mixed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from again_tf.evaluation.target import EvaluationError


class EvalRecord:
    """Rows of ``{"batch", "index", "label", <column>: [0/1 per example], ...}``."""

    def __init__(self, path: str | Path, header: dict, resume: bool = False, overwrite: bool = False):
        self.path, self.header = Path(path), header
        self.batches: dict[int, dict] = {}
        if self.path.exists() and resume:
            self._load()
        elif self.path.exists() and not overwrite:
            raise EvaluationError(f"{self.path} exists (an earlier evaluation); pass --resume to "
                                  f"continue it or --overwrite to start again.")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"header": header}) + "\n")

    def _load(self) -> None:
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        found = lines[0].get("header") if lines else None
        if found != json.loads(json.dumps(self.header)):
            raise EvaluationError(
                f"{self.path} was written with other settings ({found}); resume with the same model, "
                f"attacks, n, eps and seed, or pass --overwrite to start again.")
        for row in lines[1:]:
            self.batches[int(row["batch"])] = row

    def done(self, batch: int) -> bool:
        return batch in self.batches

    def add(self, batch: int, index: np.ndarray, labels: np.ndarray, columns: dict) -> None:
        row = {"batch": batch, "index": [int(i) for i in index], "label": [int(v) for v in labels]}
        row.update({k: np.asarray(v).tolist() for k, v in columns.items()})
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self.batches[batch] = row

    def columns(self) -> dict[str, np.ndarray]:
        """Each column over all recorded examples, in index order."""
        rows = [self.batches[b] for b in sorted(self.batches)]
        if not rows:
            return {}
        keys = [k for k in rows[0] if k != "batch"]
        return {k: np.concatenate([np.asarray(r[k]) for r in rows]) for k in keys}
