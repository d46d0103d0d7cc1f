"""A grid of trainings and evaluations from one config file, resumable, gathered into the seed's
table (rows = methods, columns = Clean, PGD-10, ..., AA; mean and min-max over seeds).

    python -m bench.reproduce bench/grids/fashion_mnist.json [--output-dir runs/grid]
        [--results-dir docs/results/fashion_mnist] [--only ROW ...] [--max-cells K] [--dry-run]

Each cell (a row and a seed) is ``python -m training.train`` then ``python -m training.evaluate``
in its own run folder, as subprocesses; ``cell.json`` marks it finished, so re-running the
command skips finished cells, re-evaluates (``--resume``) a cell whose training finished, and
resumes a cell whose training was interrupted (``training.train`` continues from its state).
With ``--results-dir`` the results are copied there after every cell, and a cell whose
``cell.json`` is there counts as finished even when its run folder is gone (a grid that spans
several machines or fresh checkouts keeps only the results folder). ``--max-cells K`` stops
after K cells run in this call (to fit a time budget). ``--seeds`` runs only those seeds (e.g.
every row's first seed before any second one). The grid file's format: ``bench/grid.py``.

Every cell records the code version its numbers come from, and a grid refuses to add cells from
another version to a results folder (``bench/code_version.py``): run it from a worktree of the
recorded commit (``git worktree add ../grid COMMIT``) while the main checkout moves on.

The grid's ``masks`` measurement goes to ``masks.txt`` beside the cell's results: does the main
head read the image or the mask? (The run folder, which holds the model, is usually not kept.)

In the table (``bench/grid_table.py``) an evaluation with two attacks or more also reports its
Worst case (an example survives every attack of it): ``worst_<name>`` in results.csv, for
``bench.compare --metrics``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from again_tf.errors import ConfigError
from again_tf.run.robustness_drop import best_epoch, validation_robust_curve
from bench import grid as grid_file
from bench.code_version import REPO, check_one_version, code_version
from bench.grid import Cell, Grid, applies, load_grid
from bench.grid_table import finished_summaries, finished_summary, gather


def _flags(overrides: dict) -> list[str]:
    """``{"again.hff": false, "model.widths": [16, 32]}`` -> ``--again.hff false --model.widths 16,32``."""
    flags = []
    for key, value in overrides.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            text = ",".join(str(v) for v in value)
        else:
            text = str(value)
        flags += [f"--{key}", text]
    return flags


def train_command(grid: Grid, cell: Cell, root: Path, python: str) -> list[str]:
    return [python, "-m", "training.train", "--preset", grid.preset, "--method", cell.method,
            "--seed", str(cell.seed), "--output-dir", str(root), "--name", cell.id, "--verbose", "2",
            *_flags({**grid.overrides, **cell.overrides})]


def evaluate_command(e: dict, run_dir: Path, python: str) -> list[str]:
    command = [python, "-m", "training.evaluate", str(run_dir), "--attacks", e["attacks"], "--resume",
               "--checkpoint", e["checkpoint"], "--output", str(run_dir / "eval" / e["name"])]
    for key in ("n", "batch_size", "eps"):
        if key in e:
            command += [f"--{key.replace('_', '-')}", str(e[key])]
    return command


def analyze_masks(run_dir: Path, n: int, python: str) -> None:
    """``training.analyze masks`` of a cell into ``masks.txt``; nothing for a model without ASE
    sites, which has no mask to read."""
    config = json.loads((run_dir / "config.json").read_text())
    if not config["again"]["ase"]:
        return
    command = [python, "-m", "training.analyze", "masks", str(run_dir), "--n", str(n)]
    with (run_dir / "masks.txt").open("w") as out, (run_dir / "analyze.log").open("a") as log:
        done = subprocess.run(command, stdout=out, stderr=log, cwd=REPO)
    if done.returncode:
        raise RuntimeError(f"training.analyze masks failed (exit {done.returncode}); "
                           f"see {run_dir / 'analyze.log'}.")


def best_is_last(run_dir: Path) -> bool:
    """True when best_robust.keras holds the last epoch's weights: the first epoch of highest
    validation robust accuracy (the one the checkpoint keeps) is the last one."""
    curve = validation_robust_curve(run_dir / "metrics.csv")
    return bool(curve) and best_epoch(curve) == curve[-1]


def same_weights_twin(grid: Grid, spec: dict, cell: Cell, run_dir: Path) -> dict | None:
    """The evaluation of the last weights with the same attacks and images, when ``spec`` asks for
    best_robust and that checkpoint is the last epoch: its results are reused, not recomputed."""
    if spec["checkpoint"] != "best_robust" or not best_is_last(run_dir):
        return None
    same = ("attacks", "n", "eps")
    return next((e for e in grid.evaluate if e["checkpoint"] == "last" and applies(e, cell)
                 and all(e.get(k) == spec.get(k) for k in same)), None)


def evaluate_cell(grid: Grid, spec: dict, cell: Cell, run_dir: Path, python: str) -> float:
    """Runs one evaluation of the cell (or copies its same-weights twin's); returns its seconds."""
    twin = same_weights_twin(grid, spec, cell, run_dir)
    if twin is None:
        return _run(evaluate_command(spec, run_dir, python), run_dir / "evaluate.log")
    if not (run_dir / "eval" / twin["name"] / "results.json").is_file():
        _run(evaluate_command(twin, run_dir, python), run_dir / "evaluate.log")
    shutil.copytree(run_dir / "eval" / twin["name"], run_dir / "eval" / spec["name"], dirs_exist_ok=True)
    return 0.0


def _run(command: list[str], log: Path) -> float:
    """Runs ``command`` with its output appended to ``log``; returns the seconds it took."""
    start = time.perf_counter()
    with log.open("a") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    if done.returncode:
        raise RuntimeError(f"{command[2]} failed (exit {done.returncode}); see {log}.")
    return time.perf_counter() - start


def run_cell(grid: Grid, cell: Cell, root: Path, python: str, version: str = "") -> dict:
    """Trains (unless a finished training is there) and evaluates one cell; writes cell.json."""
    run_dir, timing = root / cell.id, root / f"{cell.id}.train_seconds"
    resumed = False
    if not (run_dir / "final.json").is_file():
        resumed = (run_dir / "checkpoints" / "state").is_dir()  # training.train continues it
        seconds = _run(train_command(grid, cell, root, python), root / f"{cell.id}.train.log")
        timing.write_text(f"{seconds:.1f}\n")
    train_seconds = float(timing.read_text()) if timing.is_file() else float("nan")
    accuracy, evaluations, examples, warnings, eval_seconds = {}, {}, {}, [], 0.0
    for spec in (e for e in grid.evaluate if applies(e, cell)):
        eval_seconds += evaluate_cell(grid, spec, cell, run_dir, python)
        results = json.loads((run_dir / "eval" / spec["name"] / "results.json").read_text())
        if spec["checkpoint"] == "last":  # a column from the first evaluation of the last weights
            accuracy = {**results["accuracy"], **accuracy}
        evaluations[spec["name"]] = results["accuracy"]
        examples[spec["name"]] = results["examples"]
        warnings += [f"{spec['name']}:{c['name']}" for c in results["checks"] if not c["passed"]]
    if grid.masks:
        analyze_masks(run_dir, grid.masks, python)
    summary = {"row": cell.row, "group": cell.group, "method": cell.method, "seed": cell.seed,
               "overrides": {**grid.overrides, **cell.overrides}, "accuracy": accuracy,
               "evaluations": evaluations, "examples": examples, "train_seconds": round(train_seconds, 1),
               "eval_seconds": round(eval_seconds, 1), "warnings": warnings,
               "best_is_last": best_is_last(run_dir),
               "train_resumed": resumed,  # then train_seconds is the last attempt's only
               "code_version": version}
    (run_dir / "cell.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _done_line(summary: dict) -> str:
    accuracy = ", ".join(f"{k} {100 * v:.2f}%" for k, v in summary["accuracy"].items() if ":" not in k)
    return (f"  done: train {summary['train_seconds'] / 60:.1f} min, eval "
            f"{summary['eval_seconds'] / 60:.1f} min, {accuracy}")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.reproduce",
                                description=f"{__doc__}\n{grid_file.__doc__}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("grid", type=Path)
    p.add_argument("--output-dir", type=Path, default=None, help="default: the grid's output_dir")
    p.add_argument("--results-dir", type=Path, default=None, help="copy results and raw CSVs here")
    p.add_argument("--only", nargs="+", default=None, help="run only these rows (by name)")
    p.add_argument("--max-cells", type=int, default=None, help="stop after running this many cells")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="run only these seeds")
    p.add_argument("--dry-run", action="store_true", help="print what would run")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        grid = load_grid(args.grid)
        unknown = sorted(set(args.only or ()) - set(grid.rows))
        if unknown:
            raise ConfigError(f"--only: no rows {unknown}; the grid has {', '.join(grid.rows)}.")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    root = (args.output_dir or Path(grid.output_dir)).resolve()
    root.mkdir(parents=True, exist_ok=True)
    try:
        version = code_version()
        check_one_version(finished_summaries(grid, root, args.results_dir), version)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ran = 0
    for cell in grid.cells:
        skipped = (args.only and cell.row not in args.only) or (args.seeds and cell.seed not in args.seeds)
        if skipped or finished_summary(cell, root, args.results_dir):
            continue
        if args.max_cells is not None and ran >= args.max_cells:
            break
        if args.dry_run:
            print(" ".join(train_command(grid, cell, root, sys.executable)))
            continue
        print(f"[{time.strftime('%H:%M:%S')}] {cell.id}: training and evaluating", flush=True)
        summary = run_cell(grid, cell, root, sys.executable, version)
        ran += 1
        print(_done_line(summary), flush=True)
        gather(grid, root, args.results_dir)  # a later kill loses no finished cell
    summaries = gather(grid, root, args.results_dir, copy=not args.dry_run)
    print(f"{len(summaries)}/{len(grid.cells)} cells finished; table in {root / 'table.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
