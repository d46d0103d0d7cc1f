"""Training one run end to end: the library's entry point behind ``python -m training.train``.

``train(config)`` takes a resolved RunConfig (any registered method) and needs no command line:
it sets up the session, creates or resumes the run folder, fits, evaluates on the test split and
returns the folder and final.json's contents.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import tensorflow as tf

from again_tf.callbacks import restore_state, saved_step
from again_tf.config import RunConfig
from again_tf.config.paths import check_config_paths
from again_tf.data import DataBundle, load_data
from again_tf.engine import build_model, compile_model
from again_tf.engine.distribution import is_chief
from again_tf.run.final import final_evaluation
from again_tf.run.fit import fit_from
from again_tf.run.folder import chief_dir, make_run_dir, record_split, state_dir
from again_tf.run.session import model_scope, start_session, steps_per_epoch


def train(config: RunConfig) -> tuple[Path, dict]:
    """Trains ``config`` and returns (run folder, final.json's values); on a worker that is not
    the chief the folder is a scratch folder, already deleted."""
    check_config_paths(config)
    strategy = start_session(config)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        chief_dir(config)  # every worker checks --name before any of them waits for the others
    data = load_data(config.data, config.seed)
    if is_chief(strategy):
        run_dir = make_run_dir(config)
        record_split(run_dir, data.split)
        return run_dir, train_in(run_dir, run_dir, config, strategy, data)
    with tempfile.TemporaryDirectory(prefix="again-worker-") as scratch:  # other workers' writes
        (Path(scratch) / "checkpoints").mkdir()
        return Path(scratch), train_in(Path(scratch), chief_dir(config), config, strategy, data)


def train_in(run_dir: Path, state_from: Path, config: RunConfig, strategy: tf.distribute.Strategy,
             data: DataBundle) -> dict:
    """Trains writing to ``run_dir``, resuming from the state in ``state_from`` (the chief's)."""
    steps = steps_per_epoch(config, data)
    with model_scope(config, strategy):
        model = compile_model(build_model(config, data.info), config, steps)
        start = restore_state(model, state_dir(state_from)) if saved_step(state_dir(state_from)) else 0
    resumed = f", resumed at step {start}" if start else ""
    print(f"Run folder: {run_dir}  ({config.method}, {config.model.backbone}, "
          f"{config.data.dataset}, {steps} steps/epoch{resumed})", flush=True)
    fit_from(model, config, data, run_dir, steps, start)
    result = final_evaluation(model, config, data.test, run_dir, data.split)
    pgd = result["steps"]
    print(f"Test ({data.test_size} images): clean {100 * result['clean_accuracy']:.2f}% | "
          f"PGD-{pgd} {100 * result[f'pgd{pgd}_accuracy']:.2f}% "
          f"(eps {result['eps']:.4g}, step {result['step_size']:.4g})", flush=True)
    for warning in result.get("warnings", []):
        print(warning, flush=True)
    return result
