"""``python -m training.tune``: keras-tuner search over AGAIN's knobs, validated on held-out
training data (never the test set).

    python -m training.tune --preset quickstart [--tuner hyperband|bayesian] [--max-trials 20]
        [--tune-epochs 3] [--data.holdout_examples 5000] [--directory runs/tune] [--project NAME]
        [any training flag, e.g. --optim.steps_per_epoch 100]

Search space: ASE alpha, beta_aux, HFF probability, HFF gamma concentration, lr, weight decay.
Objective: validation robust accuracy (PGD with eval.val_pgd_steps steps, worst case through the
ASE heads) on ``data.holdout_examples`` training examples held out from training. Re-running the
same command resumes the search (finished trials are kept). The best trial's resolved config is
written to ``<directory>/<project>/best_config.json``; train it with
``python -m training.train --config <that file>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import keras
import keras_tuner as kt

from again_tf.config import RunConfig, apply_overrides
from again_tf.data import load_data
from again_tf.engine import build_model, compile_model
from again_tf.errors import AgainError, ConfigError
from training.cli_config import add_config_arguments, resolve_config

OBJECTIVE = kt.Objective("val_robust_accuracy", direction="max")
DEFAULT_HOLDOUT = 5000
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


class AgainHyperModel(kt.HyperModel):
    def __init__(self, base: RunConfig, info, steps_per_epoch: int):
        super().__init__()
        self.base, self.info, self.steps_per_epoch = base, info, steps_per_epoch

    def config(self, hp: kt.HyperParameters) -> RunConfig:
        return apply_overrides(self.base, search_space(hp)).validate()

    def build(self, hp):
        config = self.config(hp)
        return compile_model(build_model(config, self.info), config, self.steps_per_epoch)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, shuffle=False, **kwargs)


def with_holdout(config: RunConfig) -> RunConfig:
    """Validation must be held-out training data: sets a default hold-out when none is given."""
    if config.data.holdout_examples:
        return config
    data = dataclasses.replace(config.data, holdout_examples=DEFAULT_HOLDOUT)
    return dataclasses.replace(config, data=data)


def make_tuner(kind: str, hypermodel, max_trials: int, epochs: int, directory: Path, project: str,
               seed: int) -> kt.Tuner:
    common = dict(objective=OBJECTIVE, directory=str(directory), project_name=project, seed=seed,
                  overwrite=False)
    if kind == "hyperband":
        return kt.Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
    return kt.BayesianOptimization(hypermodel, max_trials=max_trials, **common)


def tune(args) -> Path:
    if args.tuner not in TUNERS:
        raise ConfigError(f"--tuner: got {args.tuner!r}; allowed: {', '.join(TUNERS)}.")
    if args.max_trials < 1 or args.tune_epochs < 1:
        raise ConfigError("--max-trials and --tune-epochs must be >= 1.")
    config = with_holdout(resolve_config(args))
    data = load_data(config.data, config.seed)
    steps = config.optim.steps_per_epoch or data.train_size // config.data.batch_size
    hypermodel = AgainHyperModel(config, data.info, steps)
    project = args.project or f"{config.preset}-{config.method}-{args.tuner}"
    tuner = make_tuner(args.tuner, hypermodel, args.max_trials, args.tune_epochs, args.directory, project,
                       config.seed)
    tuner.search(data.train, steps_per_epoch=steps, epochs=args.tune_epochs,
                 validation_data=data.val, verbose=config.verbose)
    best = hypermodel.config(tuner.get_best_hyperparameters(1)[0])
    out = args.directory / project / "best_config.json"
    out.write_text(best.to_json() + "\n")
    print(f"Best trial: val_robust_accuracy {tuner.oracle.get_best_trials(1)[0].score:.4f}\n"
          f"Best config: {out} (train it with: python -m training.train --config {out})")
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--tuner", default="hyperband", help=f"one of: {', '.join(TUNERS)}")
    parser.add_argument("--max-trials", type=int, default=20, help="bayesian: number of trials")
    parser.add_argument("--tune-epochs", type=int, default=3, help="epochs per trial (hyperband: max)")
    parser.add_argument("--directory", type=Path, default=Path("runs/tune"))
    parser.add_argument("--project", default=None)
    add_config_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    keras.utils.set_random_seed(0)
    try:
        tune(parse_args(argv))
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
