"""``python -m training.train``: adversarial training of one run, from a preset plus overrides.

Each run folder holds config.json (the resolved config), metrics.csv, tensorboard/, checkpoints
(last.keras, best_robust.keras) and final.json (test clean and PGD accuracy).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from again_tf.callbacks import (
    AdversarialImages,
    AttributionSpan,
    GeneralizationGap,
    LearningRateLogger,
    StopOnNonFiniteLoss,
    fixed_subset,
    write_hparams,
)
from again_tf.config import RunConfig
from again_tf.data import load_data
from again_tf.engine import build_model, compile_model, eval_attack_settings
from again_tf.engine.distribution import make_strategy
from again_tf.errors import AgainError, ConfigError
from again_tf.evaluation import EvalSettings
from training.cli_config import add_config_arguments, resolve_config


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
    """A new folder under output_dir; fails now (not after hours) if it cannot be written."""
    name = config.name or f"{config.preset}-{config.method}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(config.output_dir) / name
    suffix = 1
    while run_dir.exists() and config.name is None:
        run_dir = Path(config.output_dir) / f"{name}-{suffix}"
        suffix += 1
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(config.to_json() + "\n")
    except OSError as err:
        raise ConfigError(f"output_dir: cannot write {run_dir} ({err}); pick a writable folder.") from None
    free_mb = shutil.disk_usage(run_dir).free / 2**20
    if free_mb < config.runtime.min_free_disk_mb:
        raise ConfigError(f"output_dir: only {free_mb:.0f} MB free at {run_dir}, below "
                          f"runtime.min_free_disk_mb={config.runtime.min_free_disk_mb}; free space or "
                          f"pick another output_dir.")
    return run_dir


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


def callbacks(run_dir: Path, config: RunConfig, data) -> list[keras.callbacks.Callback]:
    """Order matters: the callbacks that add to the epoch logs come before CSV and TensorBoard."""
    checkpoints = run_dir / "checkpoints"
    return [
        StopOnNonFiniteLoss(f"{checkpoints / 'last.keras'} holds the last good epoch (if any). "),
        LearningRateLogger(),
        *gap_callback(config, data, run_dir),
        *monitor_callbacks(config, data, run_dir),
        keras.callbacks.CSVLogger(str(run_dir / "metrics.csv")),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard"), write_graph=False),
        keras.callbacks.ModelCheckpoint(str(checkpoints / "last.keras")),
        keras.callbacks.ModelCheckpoint(
            str(checkpoints / "best_robust.keras"), monitor="val_robust_accuracy", mode="max",
            save_best_only=True,
        ),
    ]


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


def train(config: RunConfig) -> tuple[Path, dict]:
    keras.utils.set_random_seed(config.seed)
    if config.runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config.runtime.strategy)
    check_replicas(config, strategy.num_replicas_in_sync)
    data = load_data(config.data, config.seed)
    run_dir = make_run_dir(config)
    steps_per_epoch = config.optim.steps_per_epoch or data.train_size // config.data.batch_size
    with strategy.scope():
        model = compile_model(build_model(config, data.info), config, steps_per_epoch)
    print(f"Run folder: {run_dir}  ({config.method}, {config.model.backbone}, "
          f"{config.data.dataset}, {steps_per_epoch} steps/epoch)", flush=True)
    model.fit(
        data.train.repeat(), epochs=config.optim.epochs, steps_per_epoch=steps_per_epoch,
        validation_data=data.val, callbacks=callbacks(run_dir, config, data), verbose=config.verbose,
        shuffle=False,  # the tf.data pipeline shuffles, seeded
    )
    result = final_evaluation(model, config, data.test, run_dir)
    steps = result["steps"]
    print(f"Test ({data.test_size} images): clean {100 * result['clean_accuracy']:.2f}% | "
          f"PGD-{steps} {100 * result[f'pgd{steps}_accuracy']:.2f}% "
          f"(eps {result['eps']:.4g}, step {result['step_size']:.4g})", flush=True)
    return run_dir, result


def main(argv=None) -> int:
    try:
        config = resolve_config(parse_args(argv))
        train(config)
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
