"""The per-example record: which attack broke which example, one JSON line per batch.

Appending a line per finished batch makes an interrupted evaluation resumable: ``--resume``
skips the batches already in the file, provided the header (model, settings, attacks, n)
matches; anything else is refused rather than mixed. The model is named by a fingerprint of its
files, not by its path, so a record committed or moved with its model resumes from any clone,
and a model retrained into the same folder is not mixed with the old one. A larger n extends
the record: its batches are the first n examples in order, so the finished full batches stay
valid.
"""

from __future__ import annotations

import hashlib
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
        lines = _read_lines(self.path)
        found = lines[0].get("header") if lines else None
        wanted = json.loads(json.dumps(self.header))
        if found == wanted:
            rows = lines[1:]
        elif _extends(found, wanted):
            rows = [r for r in lines[1:] if len(r["index"]) == wanted["settings"]["batch_size"]]
            self.path.write_text("".join(json.dumps(line) + "\n" for line in [{"header": wanted}, *rows]))
        elif found and found.get("model") != wanted.get("model"):
            raise EvaluationError(
                f"{self.path} was written for another model ({found.get('model')}, this one is "
                f"{wanted.get('model')}): its files changed since (retrained or replaced); pass "
                f"--overwrite to evaluate this model from the start, or another --output.")
        else:
            raise EvaluationError(
                f"{self.path} was written with other settings ({found}); resume with the same model, "
                f"attacks, eps, batch size and seed (n may grow), or pass --overwrite to start again.")
        for row in rows:
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
        return _columns([self.batches[b] for b in sorted(self.batches)])


def read_record(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the columns (index order) of a record, without resuming or changing it; a
    last line cut short (an evaluation killed while writing it) is left out."""
    lines = _read_lines(Path(path), repair=False)
    if not lines or "header" not in lines[0]:
        raise EvaluationError(f"{path}: no record header; it was not written by training.evaluate.")
    return lines[0]["header"], _columns(sorted(lines[1:], key=lambda r: int(r["batch"])))


def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    """Each column of the batch rows, concatenated in their order."""
    if not rows:
        return {}
    keys = [k for k in rows[0] if k != "batch"]
    return {k: np.concatenate([np.asarray(r[k]) for r in rows]) for k in keys}


def model_fingerprint(path: str | Path) -> str:
    """``sha256:<hex>`` of a model's bytes: a file's content (``.keras``; its name does not
    count), or every file below a folder (a SavedModel) with its relative path, in sorted order."""
    path = Path(path)
    folder = path.is_dir()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if folder else [path]
    digest = hashlib.sha256()
    for file in files:
        if folder:
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _read_lines(path: Path, repair: bool = True) -> list[dict]:
    """The record's lines; a last line cut short (a kill while it was written) is dropped (with
    ``repair``, from the file too, so that its batch runs again), and any other unreadable line
    is a clear error."""
    texts = [line for line in path.read_text().splitlines() if line.strip()]
    lines = []
    for number, text in enumerate(texts, 1):
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            if number < len(texts):
                raise EvaluationError(f"{path}: line {number} is not JSON; the record is damaged: "
                                      f"pass --overwrite to start the evaluation again.") from None
            if repair:
                path.write_text("".join(t + "\n" for t in texts[:-1]))
    return lines


def _extends(found: dict | None, wanted: dict) -> bool:
    """Same evaluation of more examples: only n differs, and it grew."""
    if not found or "n" not in found or "n" not in wanted:
        return False
    return {**found, "n": 0} == {**wanted, "n": 0} and found["n"] < wanted["n"]
