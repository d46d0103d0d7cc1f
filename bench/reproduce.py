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
after K cells run in this call (to fit a time budget). The grid file (JSON):

    {"name": "...", "preset": "quickstart", "overrides": {"optim.epochs": 10},
     "seeds": [0, 1], "evaluate": {"attacks": "clean,pgd10,aa", "n": 1000, "batch_size": 500},
     "rows": [{"row": "PGD-AT", "method": "pgd_at"},
              {"row": "ASE only", "method": "again_pgd_at", "group": "ablation", "seeds": [0],
               "overrides": {"again.hff": false}}]}

Every cell records the code version its numbers come from (``code_version``: the commit, plus a
hash of any uncommitted change to again_tf/, training/, serving/ and bench/), and a grid refuses
to add cells from another version to a results folder: run it from a worktree of the recorded
commit (``git worktree add ../grid COMMIT``) while the main checkout moves on. ``--seeds`` runs
only those seeds (e.g. every row's first seed before any second one).

``"masks": N`` also runs ``python -m training.analyze masks`` on the first N test images of every
cell whose model has ASE sites (``masks.txt`` beside the cell's results): does the main head read
the image or the mask? Its run folder, which holds the model, is usually not kept.

``evaluate`` may also be a list of evaluations, each with a ``name`` (its folder under
``<cell>/eval/``) and optionally only for some ``groups`` and ``seeds``: e.g. the PGD columns on
2000 images for every cell and AutoAttack, which costs ~40x more, on 500 images of the main
rows' first seed. A column comes from the first evaluation that has it. An evaluation with two
attacks or more also reports its Worst case (an example survives every attack of it):
``worst_<name>`` in results.csv, for ``bench.compare --metrics``. For grids with ASE rows, list
``transfer`` among an evaluation's attacks: the attacks past the argmax masks (see
``training.evaluate``), without which an ASE model's worst case can be points too high.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from again_tf.config import method_names
from again_tf.errors import ConfigError
from again_tf.evaluation import parse_attacks

GRID_KEYS = ("name", "preset", "overrides", "seeds", "evaluate", "rows", "output_dir", "masks")
ROW_KEYS = ("row", "method", "group", "seeds", "overrides")
EVALUATE_KEYS = ("name", "attacks", "n", "batch_size", "eps", "groups", "seeds")
DEFAULT_ATTACKS = "clean,pgd10,pgd20,pgd50,pgd100,cw,aa"
REPO = Path(__file__).resolve().parents[1]
CODE = ("again_tf", "training", "serving", "bench")  # what a cell's numbers depend on


@dataclass(frozen=True)
class Cell:
    row: str
    group: str
    method: str
    seed: int
    overrides: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{re.sub(r'[^a-z0-9]+', '-', self.row.lower()).strip('-')}-s{self.seed}"


@dataclass(frozen=True)
class Grid:
    name: str
    preset: str
    overrides: dict
    evaluate: tuple[dict, ...]  # evaluations, each with name, attacks and optional filters
    cells: tuple[Cell, ...]
    rows: tuple[str, ...]
    output_dir: str
    masks: int = 0  # test images for `training.analyze masks` on ASE cells; 0: not run


def _keys(found: dict, allowed: tuple, where: str) -> None:
    unknown = sorted(set(found) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; allowed: {', '.join(allowed)}.")


def _row_cells(row: dict, index: int, seeds: list) -> list[Cell]:
    _keys(row, ROW_KEYS, f"rows[{index}]")
    if "row" not in row or "method" not in row:
        raise ConfigError(f"rows[{index}]: needs 'row' (its name in the table) and 'method'.")
    if row["method"] not in method_names():
        raise ConfigError(f"rows[{index}]: method {row['method']!r}; allowed: {', '.join(method_names())}.")
    row_seeds = row.get("seeds", seeds)
    if not row_seeds or not all(isinstance(s, int) for s in row_seeds):
        raise ConfigError(f"rows[{index}]: seeds must be a non-empty list of integers, got {row_seeds!r}.")
    return [Cell(row["row"], row.get("group", "main"), row["method"], s, dict(row.get("overrides", {})))
            for s in row_seeds]


def load_grid(path: Path) -> Grid:
    """Reads and checks a grid file; every problem is reported before anything runs."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not a readable JSON grid ({err}).") from None
    _keys(raw, GRID_KEYS, str(path))
    evaluate = _evaluations(raw.get("evaluate", {}), path)
    if not raw.get("rows"):
        raise ConfigError(f"{path}: 'rows' is empty; list at least one {{'row': ..., 'method': ...}}.")
    cells = [c for i, row in enumerate(raw["rows"]) for c in _row_cells(row, i, raw.get("seeds", [0]))]
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: two rows share a name; row names must be distinct.")
    masks = raw.get("masks", 0)
    if isinstance(masks, bool) or not isinstance(masks, int) or masks < 0:
        raise ConfigError(f"{path}: masks {masks!r}; give the number of test images (e.g. 1000), "
                          "or 0 for none.")
    return Grid(raw.get("name", path.stem), raw.get("preset", "quickstart"), dict(raw.get("overrides", {})),
                evaluate, tuple(cells), tuple(dict.fromkeys(r["row"] for r in raw["rows"])),
                raw.get("output_dir", f"runs/grid-{path.stem}"), masks)


def _evaluations(raw, path: Path) -> tuple[dict, ...]:
    specs = raw if isinstance(raw, list) else [raw]
    if not specs:
        raise ConfigError(f"{path} evaluate: an empty list; give at least one evaluation.")
    out = []
    for i, spec in enumerate(specs):
        _keys(spec, EVALUATE_KEYS, f"{path} evaluate[{i}]")
        spec = {"name": "main" if i == 0 else f"eval{i + 1}", "attacks": DEFAULT_ATTACKS, **spec}
        parse_attacks(spec["attacks"])
        out.append(spec)
    names = [s["name"] for s in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path} evaluate: names {names} repeat; give each evaluation its own name.")
    return tuple(out)


def applies(spec: dict, cell: Cell) -> bool:
    return cell.group in spec.get("groups", [cell.group]) and cell.seed in spec.get("seeds", [cell.seed])


def columns(grid: Grid) -> dict:
    """The table's attack columns, first appearance first: attack spec -> the name of the first
    evaluation that has it (whose images the column is measured on)."""
    found = {}
    for e in grid.evaluate:
        for attack in parse_attacks(e["attacks"]):
            found.setdefault(attack.name, (attack, e["name"]))
    return dict(found.values())


def worst_columns(grid: Grid) -> dict[str, str]:
    """``worst_<evaluation>`` -> evaluation name, for every evaluation with two attacks or more:
    its Worst case column (an example survives every attack of that evaluation)."""
    return {f"worst_{e['name']}": e["name"] for e in grid.evaluate
            if sum(a.kind != "clean" for a in parse_attacks(e["attacks"])) >= 2}


def _worst(summary: dict, evaluation: str):
    """A cell's worst case on one evaluation, "" when its evaluation predates the column."""
    return summary.get("evaluations", {}).get(evaluation, {}).get("worst", "")


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
               "--output", str(run_dir / "eval" / e["name"])]
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
        eval_seconds += _run(evaluate_command(spec, run_dir, python), run_dir / "evaluate.log")
        results = json.loads((run_dir / "eval" / spec["name"] / "results.json").read_text())
        accuracy = {**results["accuracy"], **accuracy}  # a column from the first evaluation with it
        evaluations[spec["name"]] = results["accuracy"]
        examples[spec["name"]] = results["examples"]
        warnings += [f"{spec['name']}:{c['name']}" for c in results["checks"] if not c["passed"]]
    if grid.masks:
        analyze_masks(run_dir, grid.masks, python)
    summary = {"row": cell.row, "group": cell.group, "method": cell.method, "seed": cell.seed,
               "overrides": {**grid.overrides, **cell.overrides}, "accuracy": accuracy,
               "evaluations": evaluations, "examples": examples, "train_seconds": round(train_seconds, 1),
               "eval_seconds": round(eval_seconds, 1), "warnings": warnings,
               "train_resumed": resumed,  # then train_seconds is the last attempt's only
               "code_version": version}
    (run_dir / "cell.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def code_version(repo: Path = REPO) -> str:
    """``<commit>``, or ``<commit>+<hash of the uncommitted diff>`` when the code has changes."""
    def git(*args):
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        if done.returncode:
            raise ConfigError(f"{repo}: git {args[0]} failed ({done.stderr.strip()}); a grid records the "
                              "commit its numbers come from: run it from a git checkout.")
        return done.stdout

    commit = git("rev-parse", "HEAD").strip()
    diff = git("diff", "HEAD", "--", *CODE) + git("ls-files", "--others", "--exclude-standard", "--", *CODE)
    return commit if not diff else f"{commit}+{hashlib.sha256(diff.encode()).hexdigest()[:12]}"


def check_one_version(summaries: list[dict], version: str) -> None:
    """Finished cells must come from this code version (cells from before versions were recorded
    carry none and are not checked)."""
    others = sorted({s["code_version"] for s in summaries if s.get("code_version")} - {version})
    if others:
        raise ConfigError(f"finished cells come from code version {', '.join(others)}, this checkout is "
                          f"{version}: a grid's numbers come from one version. Run it from a worktree of "
                          f"that commit (git worktree add ../grid {others[0].split('+')[0]}), or use a new "
                          "--results-dir.")


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
    worst = f"worst_{first}" in worst_columns(grid)
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
              + (f", groups {', '.join(e['groups'])}" if "groups" in e else "")
              + (f", seeds {', '.join(map(str, e['seeds']))}" if "seeds" in e else "")
              for e in grid.evaluate] + [""]
    return "\n".join(lines)


def finished_summary(cell: Cell, root: Path, results_dir: Path | None) -> Path | None:
    """The cell's ``cell.json``: in its run folder, else in the results folder, else None."""
    for path in (root / cell.id / "cell.json", results_dir / cell.id / "cell.json" if results_dir else None):
        if path is not None and path.is_file():
            return path
    return None


def _evaluation_table(grid: Grid, spec: dict, summaries: list[dict]) -> list[str]:
    """An extra evaluation's own columns, on its own images (e.g. AA beside PGD-20 on the same
    300 images), for the rows that ran it: the main table takes each column from one evaluation."""
    specs = parse_attacks(spec["attacks"])
    names, labels = [s.name for s in specs], [s.label for s in specs]
    if f"worst_{spec['name']}" in worst_columns(grid):
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


def _done_line(summary: dict) -> str:
    accuracy = ", ".join(f"{k} {100 * v:.2f}%" for k, v in summary["accuracy"].items() if ":" not in k)
    return (f"  done: train {summary['train_seconds'] / 60:.1f} min, eval "
            f"{summary['eval_seconds'] / 60:.1f} min, {accuracy}")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.reproduce", description=__doc__,
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
