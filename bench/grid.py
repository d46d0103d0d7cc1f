"""The grid file: rows of methods and overrides, seeds, and the evaluations each cell runs.

    {"name": "...", "preset": "quickstart", "overrides": {"optim.epochs": 10},
     "seeds": [0, 1], "evaluate": {"attacks": "clean,pgd10,aa", "n": 1000, "batch_size": 500},
     "rows": [{"row": "PGD-AT", "method": "pgd_at"},
              {"row": "ASE only", "method": "again_pgd_at", "group": "ablation", "seeds": [0],
               "overrides": {"again.hff": false}}]}

A cell is a row and a seed. ``"masks": N`` asks for ``training.analyze masks`` on the first N
test images of every ASE cell. ``evaluate`` may be a list of evaluations, each with a ``name``
(its folder under ``<cell>/eval/``) and optionally only for some ``groups`` and ``seeds``: e.g.
the PGD columns on 2000 images for every cell and AutoAttack, which costs ~40x more, on 500
images of the main rows' first seed. A column comes from the first evaluation that has it.
``"checkpoint": "best_robust"`` evaluates the checkpoint chosen on the held-out validation instead
of the last weights; such an evaluation has its own table and never feeds the main columns. For
grids with ASE rows, list ``transfer`` among an evaluation's attacks: the attacks past the argmax
masks (see ``training.evaluate``), without which an ASE model's worst case can be points too high.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from again_tf.config import method_names
from again_tf.errors import ConfigError
from again_tf.evaluation import parse_attacks

GRID_KEYS = ("name", "preset", "overrides", "seeds", "evaluate", "rows", "output_dir", "masks")
ROW_KEYS = ("row", "method", "group", "seeds", "overrides")
EVALUATE_KEYS = ("name", "attacks", "n", "batch_size", "eps", "groups", "seeds", "checkpoint")
CHECKPOINTS = ("last", "best_robust")
DEFAULT_ATTACKS = "clean,pgd10,pgd20,pgd50,pgd100,cw,aa"


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
        spec = {"name": "main" if i == 0 else f"eval{i + 1}", "attacks": DEFAULT_ATTACKS,
                "checkpoint": "last", **spec}
        parse_attacks(spec["attacks"])
        if spec["checkpoint"] not in CHECKPOINTS:
            raise ConfigError(f"{path} evaluate[{i}]: checkpoint {spec['checkpoint']!r}; allowed: "
                              f"{', '.join(CHECKPOINTS)}.")
        out.append(spec)
    names = [s["name"] for s in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path} evaluate: names {names} repeat; give each evaluation its own name.")
    return tuple(out)


def applies(spec: dict, cell: Cell) -> bool:
    return cell.group in spec.get("groups", [cell.group]) and cell.seed in spec.get("seeds", [cell.seed])


def columns(grid: Grid) -> dict:
    """The table's attack columns, first appearance first: attack spec -> the name of the first
    evaluation of the last weights that has it (whose images the column is measured on)."""
    found = {}
    for e in (e for e in grid.evaluate if e["checkpoint"] == "last"):
        for attack in parse_attacks(e["attacks"]):
            found.setdefault(attack.name, (attack, e["name"]))
    return dict(found.values())


def worst_columns(grid: Grid) -> dict[str, str]:
    """``worst_<evaluation>`` -> evaluation name, for every evaluation with two attacks or more:
    its Worst case column (an example survives every attack of that evaluation)."""
    return {f"worst_{e['name']}": e["name"] for e in grid.evaluate
            if sum(a.kind != "clean" for a in parse_attacks(e["attacks"])) >= 2}
