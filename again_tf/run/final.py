"""The run's closing measurement: clean and PGD-k test accuracy of the final weights."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import tensorflow as tf

from again_tf.callbacks import write_hparams
from again_tf.config import RunConfig
from again_tf.engine import eval_attack_settings
from again_tf.run.callbacks import METRICS, TENSORBOARD
from again_tf.run.folder import test_selection_warning
from again_tf.run.robustness_drop import robustness_drop_warning


def final_evaluation(model: keras.Model, config: RunConfig, test_ds: tf.data.Dataset, run_dir: Path,
                     split: dict) -> dict:
    """Writes final.json and the run's HParams row; returns what final.json holds: the test
    accuracies, what validation was (``split``), and ``warnings`` when the validation curve says
    the last weights are not the most robust or when validation saw test images."""
    settings = eval_attack_settings(config, config.eval.test_pgd_steps)
    model.eval_attack = settings
    model.test_function = None  # rebuild the traced test step with the new attack
    logs = model.evaluate(test_ds, verbose=config.verbose and 2, return_dict=True)
    result = {
        "clean_accuracy": logs["clean_accuracy"],
        f"pgd{settings.steps}_accuracy": logs["robust_accuracy"],
        "eps": settings.eps, "step_size": settings.step_size, "steps": settings.steps,
        "validation": split,
    }
    warnings = [w for w in (robustness_drop_warning(run_dir / METRICS), test_selection_warning(split)) if w]
    if warnings:
        result["warnings"] = warnings
    (run_dir / "final.json").write_text(json.dumps(result, indent=2) + "\n")
    write_hparams(run_dir / TENSORBOARD, {k: v for k, v in result.items() if k.endswith("accuracy")},
                  config, trial_id=run_dir.name)
    return result
