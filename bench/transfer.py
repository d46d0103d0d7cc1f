"""A grid's worst case over every attack: each cell's evaluation columns and, for ASE models, the
attacks past the argmax masks (``python -m training.analyze transfer``).

    python -m bench.transfer docs/results/fashion_mnist_release --runs runs/grid [--evaluation aa]
        [--steps 50]

For every finished cell of the results folder (``<cell>/cell.json``, written by bench.reproduce)
whose model has ASE sites, runs the attacks of ``training.analyze transfer`` on its run folder
(``--runs``/<cell>, checkpoint last, as the grid evaluates) on the images of evaluation
``--evaluation``, once: a cell whose ``transfer_per_example.csv`` is in the results folder is
skipped. It copies the attacks' ``transfer_results.json`` (with the code version they ran at)
and ``transfer_per_example.csv`` beside the cell's results, and writes ``worst.csv``: per cell,
on that evaluation's images, its worst case over the evaluation's attacks (``table_worst``), over
the transfer attacks (``transfer``, empty without ASE sites), and over both (``worst``; empty for
an ASE cell whose model is gone, so its transfer attacks cannot run).
``python -m bench.compare RESULTS/worst.csv --metrics table_worst,worst`` compares rows on it.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from again_tf.config.schema import parse_method
from again_tf.errors import ConfigError
from again_tf.evaluation.report import read_per_example
from bench.code_version import code_version

FIELDS = ("row", "group", "method", "seed", "examples", "table_worst", "transfer", "worst")


def _per_example(path: Path) -> dict[str, np.ndarray]:
    """The attack columns (not index, label, clean, nor the ``<attack>:<part>`` details)."""
    return {k: v for k, v in read_per_example(path).items()
            if k not in ("index", "label", "clean") and ":" not in k}


def table_worst(cell_dir: Path, evaluation: str) -> np.ndarray:
    """1 where the image survived every attack of the evaluation (``<name>_per_example.csv``)."""
    path = cell_dir / f"{evaluation}_per_example.csv"
    if not path.is_file():
        raise ConfigError(f"{cell_dir}: no {path.name}; pass the --evaluation the grid ran on every cell "
                          f"(the prefix of its <name>_per_example.csv files).")
    return np.minimum.reduce(list(_per_example(path).values()))


def has_ase(cell_dir: Path, runs: Path) -> bool:
    """From the run's config.json, else (run folder gone) from the cell's method and overrides."""
    config = runs / cell_dir.name / "config.json"
    if config.is_file():
        return bool(json.loads(config.read_text())["again"]["ase"])
    summary = json.loads((cell_dir / "cell.json").read_text())
    sites = parse_method(summary["method"])[2]
    return bool(sites) and summary["overrides"].get("again.ase", True) is not False


def run_transfer(cell_dir: Path, runs: Path, evaluation: str, steps: int) -> None:
    """``training.analyze transfer`` on the evaluation's images; its outputs beside the cell's
    results. Refuses a run folder whose model is not the one the evaluation attacked."""
    from again_tf.run.transfer import TransferRequest, measure, summary_lines  # imports TensorFlow

    run_dir, summary = runs / cell_dir.name, json.loads((cell_dir / "cell.json").read_text())
    request = TransferRequest(run_dir, n=summary["examples"][evaluation], steps=steps)
    results = measure(request, write=lambda line: print(line, flush=True))
    print("\n".join(summary_lines(request, results)), flush=True)
    if evaluation not in results["with_evaluations"]:
        raise ConfigError(f"{run_dir}: its checkpoint is not the model eval/{evaluation} attacked (or "
                          f"not at that eps); transfer attacks on another model would not combine.")
    results["code_version"] = code_version()
    (cell_dir / "transfer_results.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.copy(request.out_dir / "per_example.csv", cell_dir / "transfer_per_example.csv")


def worst_row(cell_dir: Path, evaluation: str, ase: bool) -> dict:
    """``worst`` is empty for an ASE cell whose transfer attacks did not run: only the table's
    attacks, which the argmax masks can mislead, would overstate it."""
    summary = json.loads((cell_dir / "cell.json").read_text())
    table = table_worst(cell_dir, evaluation)
    row = {k: summary[k] for k in FIELDS[:4]} | {"examples": len(table), "table_worst": table.mean()}
    transfer_csv = cell_dir / "transfer_per_example.csv"
    if transfer_csv.is_file():
        transfer = _per_example(transfer_csv)["worst"][:len(table)]
        row |= {"transfer": transfer.mean(), "worst": np.minimum(table, transfer).mean()}
    else:
        row |= {"transfer": "", "worst": "" if ase else table.mean()}
    return row


def _pct(value) -> str:
    return "-" if value == "" else f"{100 * value:.2f}%"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.transfer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="a grid's results folder (bench.reproduce --results-dir)")
    p.add_argument("--runs", type=Path, required=True, help="the grid's run folders (--output-dir)")
    p.add_argument("--evaluation", default="aa", help="the evaluation whose images and columns to use")
    p.add_argument("--steps", type=int, default=50, help="PGD steps of each transfer attack")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cells = sorted(p.parent for p in args.results.glob("*/cell.json"))
        if not cells:
            raise ConfigError(f"{args.results}: no <cell>/cell.json; pass a grid's results folder.")
        rows = []
        for cell_dir in cells:
            ase = has_ase(cell_dir, args.runs)
            if ase and not (cell_dir / "transfer_per_example.csv").is_file():
                if (args.runs / cell_dir.name / "checkpoints").is_dir():
                    print(f"{cell_dir.name}: transfer attacks", flush=True)
                    run_transfer(cell_dir, args.runs, args.evaluation, args.steps)
                else:
                    print(f"{cell_dir.name}: no model in {args.runs / cell_dir.name}; its worst case "
                          "stays unknown (the transfer attacks need the model)", flush=True)
            rows.append(worst_row(cell_dir, args.evaluation, ase))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with (args.results / "worst.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    for r in rows:
        transfer, worst = (_pct(r[k]) for k in ("transfer", "worst"))
        print(f"{r['row']} (seed {r['seed']}): table {_pct(r['table_worst'])}, transfer {transfer}, "
              f"worst {worst} of {r['examples']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
