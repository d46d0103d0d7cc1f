"""``python -m training.tune``: keras-tuner search over AGAIN's knobs, validated on held-out
training data (never the test set).

    python -m training.tune --preset quickstart [--tuner hyperband|bayesian]
        [--tune-epochs 3] [--hyperband-factor 3 (hyperband)] [--max-trials 20 (bayesian)]
        [--data.holdout_examples 5000] [--directory runs/tune] [--project NAME] [--seed 0]
        [any training flag, e.g. --optim.steps_per_epoch 100, --strategy mirrored, --mixed-precision]

Search space: ASE alpha, beta_aux, HFF probability, HFF gamma concentration, lr, weight decay.
Objective: validation robust accuracy (PGD with eval.val_pgd_steps steps, worst case through the
ASE heads) on ``data.holdout_examples`` training examples held out from training; only the
training split is read. Hyperband's budget is --tune-epochs (max epochs per trial) and
--hyperband-factor; Bayesian optimisation's is --max-trials. --seed seeds the search and each
trial (from its hyperparameters). Re-running the same command resumes the search (finished
trials are kept). The best trial's resolved config, with ``data.holdout_examples`` set back to its
value without the tuner (so the final training uses the whole training set), is written to
``<directory>/<project>/best_config.json``; train it with
``python -m training.train --config <that file>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import zlib
from pathlib import Path

import keras
import keras_tuner as kt
import tensorflow as tf

from again_tf.config import RunConfig, apply_overrides
from again_tf.data import DataBundle, load_data
from again_tf.engine import build_model, compile_model
from again_tf.engine.distribution import cluster_size, make_strategy
from again_tf.engine.precision import dtype_policy, policy_name
from again_tf.errors import AgainError, ConfigError
from training.cli_config import add_config_arguments, resolve_config
from training.train import check_free_disk, check_replicas

OBJECTIVE = kt.Objective("val_robust_accuracy", direction="max")
DEFAULT_HOLDOUT = 5000
DEFAULT_MAX_TRIALS, DEFAULT_FACTOR = 20, 3
TUNERS = ("hyperband", "bayesian")


def search_space(hp: kt.HyperParameters) -> dict[str, str]:
    """The searched fields as config overrides."""
    return {
        "again.alpha": str(hp.Float("alpha", 0.5, 0.9, step=0.1)),
        "again.beta_aux": str(hp.Float("beta_aux", 0.5, 4.0, sampling="log")),
        "again.hff_probability": str(hp.Float("hff_probability", 0.0, 1.0, step=0.25)),
        "again.hff_concentration": str(hp.Float("hff_concentration", 0.1, 2.0, sampling="log")),
        "optim.lr": str(hp.Float("lr", 0.01, 0.2, sampling="log")),
        "optim.weight_decay": str(hp.Float("weight_decay", 1e-4, 1e-3, sampling="log")),
    }


def trial_seed(seed: int, hp: kt.HyperParameters) -> int:
    """A trial's initialisation seed, from --seed and its searched values: the same on resume
    and in any trial order (Hyperband's bookkeeping values ``tuner/...`` are left out)."""
    values = {k: v for k, v in hp.values.items() if not k.startswith("tuner/")}
    return zlib.crc32(json.dumps([seed, values], sort_keys=True).encode()) % 2**31


class AgainHyperModel(kt.HyperModel):
    """Builds and fits one trial on the tuning data (training examples only)."""

    def __init__(self, base: RunConfig, data: DataBundle | None, steps_per_epoch: int):
        super().__init__()
        self.base, self.data, self.steps_per_epoch = base, data, steps_per_epoch

    def config(self, hp: kt.HyperParameters) -> RunConfig:
        return apply_overrides(self.base, search_space(hp)).validate()

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        config = self.config(hp)
        keras.utils.set_random_seed(trial_seed(config.seed, hp))
        with dtype_policy(policy_name(config.runtime.mixed_precision)):  # as training.train does
            return compile_model(build_model(config, self.data.info), config, self.steps_per_epoch)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        """A continued Hyperband trial resumes the training stream where its first part stopped."""
        start = kwargs.get("initial_epoch", 0) * self.steps_per_epoch
        return model.fit(self.data.train_from(start), *args, steps_per_epoch=self.steps_per_epoch,
                         validation_data=self.data.val, shuffle=False, **kwargs)


def with_holdout(config: RunConfig) -> RunConfig:
    """Validation must be held-out training data: sets a default hold-out when none is given."""
    if config.data.holdout_examples:
        return config
    data = dataclasses.replace(config.data, holdout_examples=DEFAULT_HOLDOUT)
    return dataclasses.replace(config, data=data)


def check_directory(directory: Path, min_free_mb: int) -> None:
    """Fails now, not after hours of trials, if the search folder cannot be written or is full."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--directory: cannot create {directory} ({err}); pick a writable one.") from None
    check_free_disk(directory, min_free_mb, "--directory")


def runtime_setup(config: RunConfig, directory: Path) -> tf.distribute.Strategy:
    """training.train's seed, determinism, strategy and disk checks; refuses what a search can't do."""
    r = config.runtime
    if r.strategy == "multi_worker" or (r.strategy == "auto" and cluster_size() > 1):
        raise ConfigError("runtime.strategy=multi_worker: training.tune runs its trials in one process; "
                          "use --strategy mirrored or default (and train the best config on the cluster).")
    if r.checkpoint_every:
        raise ConfigError("runtime.checkpoint_every: training.tune resumes whole trials, not mid-epoch "
                          "states; pass --runtime.checkpoint_every 0 (set it when training the best config).")
    check_directory(directory, r.min_free_disk_mb)
    keras.utils.set_random_seed(config.seed)
    if r.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(r.strategy)
    check_replicas(config, strategy.num_replicas_in_sync)
    return strategy


def make_tuner(args: argparse.Namespace, hypermodel: AgainHyperModel, project: str,
               strategy: tf.distribute.Strategy) -> kt.Tuner:
    common = dict(objective=OBJECTIVE, directory=str(args.directory), project_name=project,
                  seed=hypermodel.base.seed, overwrite=False, distribution_strategy=strategy)
    if args.tuner == "hyperband":
        return kt.Hyperband(hypermodel, max_epochs=args.tune_epochs,
                            factor=args.hyperband_factor or DEFAULT_FACTOR, **common)
    return kt.BayesianOptimization(hypermodel, max_trials=args.max_trials or DEFAULT_MAX_TRIALS, **common)


def check_budget(args: argparse.Namespace) -> None:
    """Each tuner's budget flags only: a flag the tuner would ignore is an error."""
    if args.tuner not in TUNERS:
        raise ConfigError(f"--tuner: got {args.tuner!r}; allowed: {', '.join(TUNERS)}.")
    if args.tuner == "hyperband" and args.max_trials is not None:
        raise ConfigError("--max-trials: Hyperband's budget is --tune-epochs (max epochs per trial) and "
                          "--hyperband-factor; drop --max-trials, or use --tuner bayesian.")
    if args.tuner == "bayesian" and args.hyperband_factor is not None:
        raise ConfigError("--hyperband-factor: only for --tuner hyperband; Bayesian optimisation's "
                          "budget is --max-trials.")
    if min(args.max_trials or 1, args.tune_epochs) < 1 or (args.hyperband_factor or 2) < 2:
        raise ConfigError("--max-trials and --tune-epochs must be >= 1, --hyperband-factor >= 2.")


def untuned_holdout(args: argparse.Namespace) -> int:
    """data.holdout_examples from the same preset and --config without the tuner's hold-out flag."""
    return resolve_config(argparse.Namespace(**{**vars(args), "set:data.holdout_examples": None})
                          ).data.holdout_examples


def tune(args: argparse.Namespace) -> Path:
    """Runs (or resumes) the search and writes the best trial's config for the final training."""
    check_budget(args)
    config = with_holdout(resolve_config(args))
    strategy = runtime_setup(config, args.directory)
    data = load_data(config.data, config.seed, read_test=False)
    steps = config.optim.steps_per_epoch or data.train_size // config.data.batch_size
    hypermodel = AgainHyperModel(config, data, steps)
    project = args.project or f"{config.preset}-{config.method}-{args.tuner}"
    tuner = make_tuner(args, hypermodel, project, strategy)
    tuner.search(epochs=args.tune_epochs, verbose=config.verbose)
    best = hypermodel.config(tuner.get_best_hyperparameters(1)[0])
    holdout = untuned_holdout(args)
    best = dataclasses.replace(best, data=dataclasses.replace(best.data, holdout_examples=holdout))
    out = args.directory / project / "best_config.json"
    out.write_text(best.to_json() + "\n")
    whole = ": the final training uses the whole training set" if not holdout else ""
    print(f"Best trial: val_robust_accuracy {tuner.oracle.get_best_trials(1)[0].score:.4f}\n"
          f"Best config: {out} (data.holdout_examples set back to {holdout}{whole}; train it with: "
          f"python -m training.train --config {out})")
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--tuner", default="hyperband", help=f"one of: {', '.join(TUNERS)}")
    parser.add_argument("--max-trials", type=int, default=None,
                        help=f"bayesian only: number of trials (default {DEFAULT_MAX_TRIALS})")
    parser.add_argument("--hyperband-factor", type=int, default=None,
                        help=f"hyperband only: epoch/trial reduction factor (default {DEFAULT_FACTOR})")
    parser.add_argument("--tune-epochs", type=int, default=3, help="epochs per trial (hyperband: max)")
    parser.add_argument("--directory", type=Path, default=Path("runs/tune"))
    parser.add_argument("--project", default=None)
    add_config_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    try:
        tune(parse_args(argv))
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
