"""``python -m training.evaluate``: the robustness table of a run folder, checkpoint or SavedModel.

    python -m training.evaluate runs/quickstart-again_pgd_at-... [--attacks clean,pgd20,cw,aa]
        [--n 1000] [--eps 0.1] [--batch-size 256] [--seed 0] [--resume]

Prints the table in the seed's format and the gradient-masking checks, and writes table.md,
results.csv, results.json, per_example.csv (which attack broke which example), record.jsonl
(resumable) and TensorBoard summaries into the output folder (default: beside the model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from again_tf.config.paths import CHECKPOINTS, check_data_dir, check_exists
from again_tf.config.schema import DATASETS
from again_tf.errors import AgainError
from again_tf.tf_startup import import_tensorflow


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("model", type=Path, help="a run folder, a .keras checkpoint or a SavedModel folder")
    p.add_argument("--attacks", default=None, help="comma separated: clean, fgsm, pgdK, cw (30 steps) "
                   "or cwK, aa, aa_rand, transfer (50 steps past the ASE masks) or transferK (default: "
                   "the seed's table, clean,pgd10,pgd20,pgd50,pgd100,cw,aa, and transfer for a model "
                   "with ASE heads)")
    p.add_argument("--n", type=int, default=None, help="first n test examples (default: all)")
    p.add_argument("--eps", type=float, default=None,
                   help="default: the run's attack.eps (else the data set's default)")
    p.add_argument("--step-size", type=float, default=None, help="PGD step (default eps / 4)")
    p.add_argument("--norm", default=None, choices=["linf", "l2"])
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("--kappa", type=float, default=0.0, help="C&W margin cap")
    p.add_argument("--adaptive", default="both", choices=["both", "main"],
                   help="both: also attack through the ASE auxiliary heads (worst case)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="last", choices=CHECKPOINTS)
    p.add_argument("--dataset", default=None, choices=DATASETS, help="default: the run's data set")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--output", type=Path, default=None)
    p.add_argument("--resume", action="store_true", help="continue an interrupted evaluation")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation")
    return p.parse_args(argv)


def check_paths(args: argparse.Namespace) -> None:
    """The model and data folder exist: a typo fails before TensorFlow is imported."""
    check_exists(args.model, "model", "a run folder (runs/<name>), a .keras checkpoint or a SavedModel")
    check_data_dir(args.data_dir)


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        check_paths(args)
        import_tensorflow()
        from again_tf.run.evaluate import EvalRequest, evaluate

        evaluate(EvalRequest(**vars(args)))
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
