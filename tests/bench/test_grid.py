"""The grid file: validation before anything runs, and every grid in the repository."""

import re
from pathlib import Path

import pytest

from again_tf.config.schema import parse_method
from again_tf.errors import ConfigError
from bench.grid import load_grid
from bench.reproduce import train_command
from tests.bench.helpers import TOY, write_grid
from training.cli_config import resolve_config
from training.train import parse_args


@pytest.mark.parametrize("change,message", [
    ({"epochs": 3}, "unknown keys ['epochs']; allowed: name, preset"),
    ({"rows": []}, "'rows' is empty"),
    ({"rows": [{"row": "X", "method": "fgsm_at"}]}, "method 'fgsm_at'; allowed: pgd_at"),
    ({"rows": [{"row": "X"}]}, "needs 'row' (its name in the table) and 'method'"),
    ({"rows": [{"row": "X", "method": "pgd_at"}, {"row": "x", "method": "mart"}]}, "share a name"),
    ({"evaluate": {"attacks": "clean,deepfool"}}, "unknown attack 'deepfool'"),
    ({"evaluate": [{"attacks": "clean"}, {"name": "main", "attacks": "fgsm"}]},
     "names ['main', 'main'] repeat"),
    ({"evaluate": [{"attacks": "clean", "rows": ["X"]}]}, "unknown keys ['rows']; allowed: name, attacks"),
    ({"rows": [{"row": "X", "method": "pgd_at", "seeds": []}]}, "seeds must be a non-empty list"),
    ({"masks": "all"}, "masks 'all'; give the number of test images (e.g. 1000), or 0 for none"),
    ({"evaluate": [{"attacks": "clean", "checkpoint": "best"}]},
     "checkpoint 'best'; allowed: last, best_robust"),
])
def test_bad_grids_are_refused_before_anything_runs(tmp_path, change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_grid(write_grid(tmp_path, {**TOY, **change}))


@pytest.mark.parametrize("path", sorted(Path("bench/grids").glob("*.json")), ids=lambda p: p.stem)
def test_every_grid_in_the_repository_resolves_to_valid_run_configs(path):
    grid = load_grid(path)
    for cell in grid.cells:
        command = train_command(grid, cell, Path("/tmp/unused"), "python")
        config = resolve_config(parse_args(command[3:]))
        base, awp, sites = parse_method(cell.method)
        assert (config.objective.method, config.objective.awp) == (base, awp), cell
        assert config.again.enabled == bool(sites) or cell.group == "ablation", cell
        assert config.seed == cell.seed and config.preset == grid.preset
