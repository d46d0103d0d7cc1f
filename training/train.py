"""``python -m training.train``: adversarial training of one run, from a preset plus overrides.

Each run folder holds config.json (the resolved config), metrics.csv, tensorboard/, checkpoints
(last.keras, best_robust.keras) and final.json (test clean and PGD accuracy).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf

from again_tf.callbacks import (
    AdversarialImages,
    AttributionSpan,
    GeneralizationGap,
    LearningRateLogger,
    Preempted,
    PreemptionCheckpoint,
    StopOnNonFiniteLoss,
    fixed_subset,
    restore_state,
    saved_step,
    write_hparams,
)
from again_tf.config import RunConfig
from again_tf.data import load_data
from again_tf.engine import build_model, compile_model, eval_attack_settings
from again_tf.engine.distribution import is_chief, make_strategy
from again_tf.engine.precision import dtype_policy, policy_name
from again_tf.errors import AgainError, ConfigError
from again_tf.evaluation import EvalSettings
from training.cli_config import add_config_arguments, resolve_config

PREEMPTED_EXIT = 143  # 128 + SIGTERM: the run stopped on request and can be resumed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.train", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,
    )
    add_config_arguments(parser)
    return parser.parse_args(argv)


def check_replicas(config: RunConfig, replicas: int) -> None:
    if config.data.batch_size % replicas:
        raise ConfigError(
            f"data.batch_size: {config.data.batch_size} is not divisible by the {replicas} "
            f"replicas; use a multiple of {replicas} "
            f"(e.g. {replicas * (config.data.batch_size // replicas + 1)})."
        )


def make_run_dir(config: RunConfig) -> Path:
    """The run folder: new under output_dir, or the named one (resumed if it holds a training
    state); fails now (not after hours) if it cannot be written."""
    name = config.name or f"{config.preset}-{config.method}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(config.output_dir) / name
    suffix = 1
    while run_dir.exists() and config.name is None:
        run_dir = Path(config.output_dir) / f"{name}-{suffix}"
        suffix += 1
    check_resumable(run_dir, config)
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(config.to_json() + "\n")
    except OSError as err:
        raise ConfigError(f"output_dir: cannot write {run_dir} ({err}); pick a writable folder.") from None
    check_free_disk(run_dir, config.runtime.min_free_disk_mb, "output_dir")
    return run_dir


def check_free_disk(folder: Path, min_free_mb: int, flag: str) -> None:
    """A full disk found before training, not by the first checkpoint hours later."""
    free_mb = shutil.disk_usage(folder).free / 2**20
    if free_mb < min_free_mb:
        raise ConfigError(f"{flag}: only {free_mb:.0f} MB free at {folder}, below "
                          f"runtime.min_free_disk_mb={min_free_mb}; free space or pick another {flag}.")


def state_dir(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "state"


def check_resumable(run_dir: Path, config: RunConfig) -> None:
    """A named folder that exists must be this run: finished runs and other configs are refused."""
    if (run_dir / "final.json").is_file():
        raise ConfigError(f"{run_dir} holds a finished run; pick another --name (or remove the folder).")
    if saved_step(state_dir(run_dir)) is None or not (run_dir / "config.json").is_file():
        return
    ignored = ("runtime", "verbose")  # how the run executes may change between attempts
    saved = {k: v for k, v in json.loads((run_dir / "config.json").read_text()).items() if k not in ignored}
    wanted = {k: v for k, v in json.loads(config.to_json()).items() if k not in ignored}
    changed = sorted(f"{section}.{key}" for section in wanted if isinstance(wanted[section], dict)
                     for key in wanted[section] if saved.get(section, {}).get(key) != wanted[section][key])
    changed += sorted(k for k in wanted if not isinstance(wanted[k], dict) and saved.get(k) != wanted[k])
    if changed:
        raise ConfigError(f"{run_dir} holds an interrupted run with other settings ({', '.join(changed)}); "
                          f"resume it with the same command, or pick another --name.")


def gap_callback(config: RunConfig, data, run_dir: Path) -> list[keras.callbacks.Callback]:
    """The generalization-gap curves, when ``eval.gap_examples`` > 0."""
    n = config.eval.gap_examples
    if not n:
        return []
    splits = {"train": fixed_subset(data.train_arrays, n, config.seed),
              "test": fixed_subset(data.test_arrays, n, config.seed + 1)}
    a = config.attack
    settings = EvalSettings(eps=a.eps, step_size=config.eval.step_size, norm=a.norm, seed=config.seed,
                            batch_size=max(config.data.batch_size, 256))
    return [GeneralizationGap(splits, settings, data.info.image_shape, run_dir / "tensorboard",
                              config.eval.gap_every)]


def monitor_callbacks(config: RunConfig, data, run_dir: Path) -> list[keras.callbacks.Callback]:
    """Adversarial-example images and attribution-span scalars, when their interval is set."""
    e = config.eval
    if not (e.image_every or e.span_every):
        return []
    x, y = fixed_subset(data.test_arrays, e.monitor_examples, config.seed + 2)
    step = e.step_size if e.step_size is not None else config.attack.eps / 4
    args = (x, y, config.attack.eps, step, run_dir / "tensorboard")
    return ([AdversarialImages(*args, e.image_every)] if e.image_every else []) + \
        ([AttributionSpan(*args, e.span_every)] if e.span_every else [])


class MetricsCSV(keras.callbacks.CSVLogger):
    """Appends in the columns of an existing metrics.csv header (a resumed run): CSVLogger takes
    them from the first epoch's logs, and rows of other keys would misalign with the header."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        path = Path(self.filename)
        with path.open() as f:
            header = next(csv.reader(f), None)
        if header:
            self.keys = header[1:]


class FiniteTensorBoard(keras.callbacks.TensorBoard):
    """Leaves out the NaN the gap and span callbacks log on the epochs they skip (no NaN points);
    any other NaN (a diverged loss) is still written."""

    def on_epoch_end(self, epoch, logs=None):
        def skipped(key, value):
            return key.startswith(("gap_", "span_")) and isinstance(value, float) and math.isnan(value)

        super().on_epoch_end(epoch, {k: v for k, v in (logs or {}).items() if not skipped(k, v)})


def callbacks(run_dir: Path, config: RunConfig, data, first_epoch: int) -> list[keras.callbacks.Callback]:
    """Order matters: the callbacks that add to the epoch logs come before CSV and TensorBoard,
    and the training state is saved last, once the epoch's logs and checkpoints exist."""
    checkpoints = run_dir / "checkpoints"
    best = keras.callbacks.ModelCheckpoint(
        str(checkpoints / "best_robust.keras"), monitor="val_robust_accuracy", mode="max",
        save_best_only=True,
    )
    best.best = max(logged_values(run_dir, "val_robust_accuracy", first_epoch), default=best.best)
    return [
        StopOnNonFiniteLoss(f"{checkpoints / 'last.keras'} holds the last good epoch and "
                            f"{state_dir(run_dir)} the last good training state (if any). "),
        LearningRateLogger(),
        *gap_callback(config, data, run_dir),
        *monitor_callbacks(config, data, run_dir),
        MetricsCSV(str(run_dir / "metrics.csv"), append=True),
        FiniteTensorBoard(log_dir=str(run_dir / "tensorboard"), write_graph=False),
        keras.callbacks.ModelCheckpoint(str(checkpoints / "last.keras")),
        best,
        PreemptionCheckpoint(state_dir(run_dir), config.runtime.checkpoint_every),
    ]


def logged_values(run_dir: Path, column: str, first_epoch: int) -> list[float]:
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return []
    rows = list(csv.DictReader(path.open()))
    return [float(r[column]) for r in rows if int(r["epoch"]) < first_epoch and r.get(column)]


def keep_logged_epochs(run_dir: Path, first_epoch: int) -> None:
    """Drops metrics.csv rows of the epochs a resumed run will run (again): each epoch once."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines[1:] if int(line.split(",", 1)[0]) < first_epoch]
    path.write_text("".join(lines[:1] + kept) if kept or first_epoch else "")


def final_evaluation(model, config: RunConfig, test_ds, run_dir: Path) -> dict:
    """Clean and PGD-k accuracy on the test split with the final weights."""
    settings = eval_attack_settings(config, config.eval.test_pgd_steps)
    model.eval_attack = settings
    model.test_function = None  # rebuild the traced test step with the new attack
    logs = model.evaluate(test_ds, verbose=config.verbose and 2, return_dict=True)
    result = {
        "clean_accuracy": logs["clean_accuracy"],
        f"pgd{settings.steps}_accuracy": logs["robust_accuracy"],
        "eps": settings.eps, "step_size": settings.step_size, "steps": settings.steps,
    }
    (run_dir / "final.json").write_text(json.dumps(result, indent=2) + "\n")
    write_hparams(run_dir / "tensorboard", {k: v for k, v in result.items() if k.endswith("accuracy")},
                  config, trial_id=run_dir.name)
    return result


def fit(model, config: RunConfig, data, run_dir: Path, steps_per_epoch: int, start: int) -> None:
    """Fits from global step ``start``: the data skips the batches already seen, a partial first
    epoch runs its remaining steps, then the remaining epochs."""
    first_epoch, done = divmod(start, steps_per_epoch)
    keep_logged_epochs(run_dir, first_epoch)
    hooks = callbacks(run_dir, config, data, first_epoch)
    common = {"validation_data": data.val, "callbacks": hooks, "verbose": config.verbose,
              "shuffle": False}  # the tf.data pipeline shuffles, seeded
    preemption = next(h for h in hooks if isinstance(h, PreemptionCheckpoint))
    with preemption.across_fits():
        if done:
            model.fit(data.train_from(start), initial_epoch=first_epoch, epochs=first_epoch + 1,
                      steps_per_epoch=steps_per_epoch - done, **common)
            first_epoch += 1
        if first_epoch < config.optim.epochs:
            model.fit(data.train_from(first_epoch * steps_per_epoch), initial_epoch=first_epoch,
                      epochs=config.optim.epochs, steps_per_epoch=steps_per_epoch, **common)


def train(config: RunConfig) -> tuple[Path, dict]:
    keras.utils.set_random_seed(config.seed)
    if config.runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config.runtime.strategy)
    check_replicas(config, strategy.num_replicas_in_sync)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        chief_dir(config)  # every worker checks --name before any of them waits for the others
    data = load_data(config.data, config.seed)
    if is_chief(strategy):
        run_dir = make_run_dir(config)
        return run_dir, train_in(run_dir, run_dir, config, strategy, data)
    with tempfile.TemporaryDirectory(prefix="again-worker-") as scratch:  # other workers' writes
        (Path(scratch) / "checkpoints").mkdir()
        return Path(scratch), train_in(Path(scratch), chief_dir(config), config, strategy, data)


def chief_dir(config: RunConfig) -> Path:
    """The chief's run folder, where every worker reads the training state to resume from."""
    if config.name is None:
        raise ConfigError("runtime.strategy=multi_worker: pass --name, the same on every worker, so "
                          "that all of them find the run folder (and its state when resuming).")
    return Path(config.output_dir) / config.name


def train_in(run_dir: Path, state_from: Path, config: RunConfig, strategy, data) -> dict:
    """Trains writing to ``run_dir``, resuming from the state in ``state_from`` (the chief's)."""
    steps_per_epoch = config.optim.steps_per_epoch or data.train_size // config.data.batch_size
    with strategy.scope(), dtype_policy(policy_name(config.runtime.mixed_precision)):
        model = compile_model(build_model(config, data.info), config, steps_per_epoch)
        start = restore_state(model, state_dir(state_from)) if saved_step(state_dir(state_from)) else 0
    resumed = f", resumed at step {start}" if start else ""
    print(f"Run folder: {run_dir}  ({config.method}, {config.model.backbone}, "
          f"{config.data.dataset}, {steps_per_epoch} steps/epoch{resumed})", flush=True)
    fit(model, config, data, run_dir, steps_per_epoch, start)
    result = final_evaluation(model, config, data.test, run_dir)
    steps = result["steps"]
    print(f"Test ({data.test_size} images): clean {100 * result['clean_accuracy']:.2f}% | "
          f"PGD-{steps} {100 * result[f'pgd{steps}_accuracy']:.2f}% "
          f"(eps {result['eps']:.4g}, step {result['step_size']:.4g})", flush=True)
    return result


def main(argv=None) -> int:
    try:
        config = resolve_config(parse_args(argv))
        train(config)
    except Preempted as stop:
        print(str(stop), file=sys.stderr, flush=True)
        return PREEMPTED_EXIT
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
