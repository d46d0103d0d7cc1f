"""``python -m training.analyze``: the paper's analysis of one or several runs.

    python -m training.analyze gap RUN [RUN ...] [--out gap.png]
    python -m training.analyze attribution RUN [RUN ...] [--images 8] [--n 256] [--method ig]
    python -m training.analyze curves RUN [RUN ...] [--metrics val_robust_accuracy,...]
    python -m training.analyze masks RUN [RUN ...] [--n 1000]
    python -m training.analyze transfer RUN [RUN ...] [--n 1000] [--steps 50] [--temperatures 1,0.1]

``gap`` draws the generalization curves a run recorded with ``--eval.gap_examples N``: (a)
standard (clean accuracy on the training and the test subset) and (b) robust (PGD-10), per
epoch, and prints the train-test gap at the best and the last epoch. ``attribution`` draws
attribution maps (Integrated Gradients or Grad-CAM on the final ASE features) for the first test
images, one column per run, prints the attribution span (mass span, effective support) on clean
and PGD-10 inputs, and logs the grid to each run's TensorBoard. ``curves`` plots any
``metrics.csv`` columns per epoch (e.g. to show that a schedule has converged). ``masks``
measures whether an ASE model's main head classifies the image or reads the label off the ASE
mask (``again_tf.analysis.mask_dependence``) on the first ``--n`` test images. ``transfer``
attacks an ASE model past its argmax masks (PGD on each ASE head alone; a BPDA transfer from the
same weights with soft masks ``W softmax(z / T)``), at the run's eps, and prints the worst case
together with each ``training.evaluate`` record of the same checkpoint, with a WARN when it is
more than a point lower (``again_tf.evaluation.transfer``; outputs in eval/transfer-CHECKPOINT).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from again_tf.config.paths import check_exists
from again_tf.errors import AgainError, ConfigError
from again_tf.tf_startup import import_tensorflow


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.analyze", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gap = sub.add_parser("gap", help="generalization curves of one or several runs")
    gap.add_argument("runs", nargs="+", type=Path)
    gap.add_argument("--out", type=Path, default=Path("gap.png"))
    att = sub.add_parser("attribution", help="attribution maps and span of one or several runs")
    att.add_argument("runs", nargs="+", type=Path)
    att.add_argument("--images", type=int, default=8, help="test images in the grid")
    att.add_argument("--n", type=int, default=256, help="test images for the span metrics")
    att.add_argument("--method", choices=["ig", "gradcam"], default="ig")
    att.add_argument("--layer", default=None,
                     help="Grad-CAM layer: an AGAIN site (block, features); default the last site")
    att.add_argument("--checkpoint", default="last", choices=["last", "best_robust"])
    att.add_argument("--out", type=Path, default=Path("attribution.png"))
    cur = sub.add_parser("curves", help="metrics.csv columns per epoch of one or several runs")
    cur.add_argument("runs", nargs="+", type=Path)
    cur.add_argument("--metrics", default="val_clean_accuracy,val_robust_accuracy",
                     help="comma-separated metrics.csv columns")
    cur.add_argument("--out", type=Path, default=Path("curves.png"))
    msk = sub.add_parser("masks", help="does the main head read the image or the ASE mask?")
    msk.add_argument("runs", nargs="+", type=Path)
    msk.add_argument("--n", type=int, default=1000, help="test images")
    msk.add_argument("--checkpoint", default="last", choices=["last", "best_robust"])
    tra = sub.add_parser("transfer", help="attacks past the ASE argmax masks, and the worst case with "
                                          "the run's evaluations")
    tra.add_argument("runs", nargs="+", type=Path)
    tra.add_argument("--n", type=int, default=1000, help="test images (the first n)")
    tra.add_argument("--steps", type=int, default=50, help="PGD steps of every attack (step eps/4)")
    tra.add_argument("--temperatures", default="1,0.1", help="soft-mask temperatures, comma separated")
    tra.add_argument("--checkpoint", default="last", choices=["last", "best_robust"],
                     help="the checkpoint training.evaluate evaluated (its default: last)")
    tra.add_argument("--batch-size", type=int, default=250)
    tra.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def temperatures(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"--temperatures: got {text!r}; give numbers > 0, comma separated (soft masks "
                          f"W softmax(z / T); e.g. 1,0.1).") from None


def check_args(args: argparse.Namespace) -> None:
    """Every run folder exists and the counts are positive: fails before TensorFlow is imported."""
    for run in args.runs:
        check_exists(run, "RUN", "run folders written by training.train (runs/<name>)")
    if args.command == "masks" and args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}.")
    if args.command == "attribution" and (args.images < 1 or args.n < 1):
        raise ConfigError(f"--images and --n must be >= 1, got {args.images} and {args.n}.")
    if args.command == "transfer":
        if min(args.n, args.steps, args.batch_size) < 1:
            raise ConfigError(f"--n, --steps and --batch-size must be >= 1, got {args.n}, {args.steps} "
                              f"and {args.batch_size}.")
        temps = temperatures(args.temperatures)
        if not temps or min(temps) <= 0:
            raise ConfigError(f"--temperatures: got {args.temperatures!r}; give numbers > 0, comma "
                              f"separated (soft masks W softmax(z / T); e.g. 1,0.1).")


def run(args: argparse.Namespace) -> None:
    import_tensorflow()
    from again_tf.run import attribution, curves, masks

    if args.command == "gap":
        print(curves.plot_gap(args.runs, args.out) + f"\nWritten to {args.out}")
    elif args.command == "masks":
        for line in masks.masks_lines(args.runs, args.n, args.checkpoint):
            print(line, flush=True)
    elif args.command == "transfer":
        from again_tf.run.transfer import TransferRequest, measure, summary_lines

        for run_dir in args.runs:
            request = TransferRequest(run_dir, args.n, args.steps, temperatures(args.temperatures),
                                      args.checkpoint, args.batch_size, args.seed)
            for line in summary_lines(request, measure(request, write=print)):
                print(line, flush=True)
    elif args.command == "curves":
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
        print(curves.plot_curves(args.runs, metrics, args.out) + f"\nWritten to {args.out}")
    else:
        print(attribution.plot_attribution(args.runs, args.images, args.n, args.method, args.out,
                                           args.checkpoint, args.layer) + f"\nWritten to {args.out}")


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        check_args(args)
        run(args)
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
