"""``python -m training.tune``: keras-tuner search over AGAIN's knobs, validated on held-out
training data (never the test set).

    python -m training.tune --preset quickstart [--tuner hyperband|bayesian]
        [--tune-epochs 3] [--hyperband-factor 3 (hyperband)] [--max-trials 20 (bayesian)]
        [--data.val_examples 5000] [--directory runs/tune] [--project NAME] [--seed 0]
        [any training flag, e.g. --optim.steps_per_epoch 100, --strategy mirrored, --mixed-precision]

Search space: ASE alpha, beta_aux, HFF probability, HFF gamma concentration, lr, weight decay.
Objective: validation robust accuracy (PGD with eval.val_pgd_steps steps, worst case through the
ASE heads) on the ``data.val_examples`` training examples held out from training
(``data.val_source=holdout``, the default; the split the final training holds out too, so its
best_robust.keras is chosen on the same images); only the training split is read. Hyperband's
budget is --tune-epochs (max epochs per trial) and --hyperband-factor; Bayesian optimisation's
is --max-trials. --seed seeds the search and each
trial (from its hyperparameters). Re-running the same command resumes the search (finished
trials are kept). The best trial's resolved config is written to
``<directory>/<project>/best_config.json``; train it with
``python -m training.train --config <that file>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from again_tf.config import RunConfig
from again_tf.config.paths import check_config_paths
from again_tf.config.tuning import DEFAULT_FACTOR, DEFAULT_MAX_TRIALS, TUNERS, Budget
from again_tf.errors import AgainError
from again_tf.tf_startup import import_tensorflow
from training.cli_config import add_config_arguments, resolve_config


def budget(args: argparse.Namespace) -> Budget:
    return Budget(args.tuner, args.tune_epochs, args.hyperband_factor, args.max_trials).validate()


def tune(args: argparse.Namespace) -> Path:
    """Runs (or resumes) the search and writes the best trial's config for the final training."""
    spend = budget(args)
    config = resolve_config(args)
    check_config_paths(config)
    import_tensorflow()
    from again_tf.run.tune import OBJECTIVE, search

    project = args.project or f"{config.preset}-{config.method}-{args.tuner}"
    best, score = search(config, spend, args.directory, project)
    return write_best(best, f"{OBJECTIVE.name} {score:.4f}", args.directory / project / "best_config.json")


def write_best(best: RunConfig, best_trial: str, out: Path) -> Path:
    out.write_text(best.to_json() + "\n")
    print(f"Best trial: {best_trial}\n"
          f"Best config: {out} (train it with: python -m training.train --config {out})")
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
