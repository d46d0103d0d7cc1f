"""A toy grid shared by the bench tests: two cells that train in seconds."""

import json

TOY = {
    "name": "toy", "preset": "quickstart", "seeds": [0], "masks": 16,
    "overrides": {"model.widths": [8, 8, 16], "attack.steps": 1, "optim.steps_per_epoch": 3,
                  "optim.epochs": 1, "data.batch_size": 32, "data.val_examples": 32,
                  "data.test_examples": 32, "eval.val_pgd_steps": 1, "eval.test_pgd_steps": 1},
    "evaluate": [{"attacks": "clean,pgd2", "n": 32, "batch_size": 32},
                 {"name": "extra", "attacks": "clean,fgsm", "n": 16, "batch_size": 16, "groups": ["main"]},
                 {"name": "best", "attacks": "clean,pgd2", "n": 32, "batch_size": 32,
                  "checkpoint": "best_robust", "groups": ["main"]}],
    "rows": [{"row": "PGD-AT", "method": "pgd_at"},
             {"row": "ASE only", "method": "again_pgd_at", "group": "ablation",
              "overrides": {"again.hff": False}}],
}


def write_grid(tmp_path, grid):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grid))
    return path
