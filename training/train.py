"""``python -m training.train``: adversarial training of one run, from a preset plus overrides.

Each run folder holds config.json (the resolved config), metrics.csv, tensorboard/, checkpoints
(last.keras, best_robust.keras) and final.json (test clean and PGD accuracy).
"""

from __future__ import annotations

import argparse
import sys

from again_tf.config import RunConfig
from again_tf.config.paths import check_config_paths
from again_tf.errors import AgainError
from again_tf.tf_startup import import_tensorflow
from training.cli_config import add_config_arguments, resolve_config

PREEMPTED_EXIT = 143  # 128 + SIGTERM: the run stopped on request and can be resumed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.train", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,
    )
    add_config_arguments(parser)
    return parser.parse_args(argv)


def checked_config(argv=None) -> RunConfig:
    """The resolved config, its paths checked: bad input fails before TensorFlow is imported."""
    config = resolve_config(parse_args(argv))
    check_config_paths(config)
    return config


def run(config: RunConfig) -> int:
    import_tensorflow()
    from again_tf.callbacks import Preempted
    from again_tf.run import train

    try:
        train(config)
    except Preempted as stop:
        print(str(stop), file=sys.stderr, flush=True)
        return PREEMPTED_EXIT
    return 0


def main(argv=None) -> int:
    try:
        return run(checked_config(argv))
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
