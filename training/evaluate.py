"""``python -m training.evaluate``: the robustness table of a run folder, checkpoint or SavedModel.

    python -m training.evaluate runs/quickstart-again_pgd_at-... [--attacks clean,pgd20,cw,aa]
        [--n 1000] [--eps 0.1] [--batch-size 256] [--seed 0] [--resume]

Prints the table in the seed's format and the gradient-masking checks, and writes table.md,
results.csv, results.json, per_example.csv (which attack broke which example), record.jsonl
(resumable) and TensorBoard summaries into the output folder (default: beside the model).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from again_tf.callbacks import write_hparams
from again_tf.config.schema import DATASETS, RunConfig
from again_tf.data import dataset_info, load_arrays
from again_tf.engine.checkpoints import (
    CHECKPOINTS,
    load_trained_model,
    resolve_source,
    run_config,
    source_dataset,
)
from again_tf.errors import AgainError, ConfigError
from again_tf.evaluation import (
    DEFAULT_ATTACKS,
    EvalRecord,
    EvalSettings,
    EvaluationError,
    accuracies,
    keras_target,
    markdown_table,
    model_fingerprint,
    parse_attacks,
    run_attacks,
    run_checks,
    saved_model_target,
    write_outputs,
)

METHOD_WORDS = {"again": "AGAIN", "awp": "AWP", "cas": "CAS", "pgd_at": "PGD-AT", "trades": "TRADES",
                "mart": "MART", "fat_trades": "FAT-TRADES", "las_at": "LAS-AT"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("model", type=Path, help="a run folder, a .keras checkpoint or a SavedModel folder")
    p.add_argument("--attacks", default=",".join(DEFAULT_ATTACKS),
                   help="comma separated: clean, fgsm, pgdK, cw (30 steps) or cwK, aa, aa_rand")
    p.add_argument("--n", type=int, default=None, help="first n test examples (default: all)")
    p.add_argument("--eps", type=float, default=None, help="default: the run's attack.eps (else 8/255)")
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


def method_label(method: str) -> str:
    """``again_awp_pgd_at`` -> ``AGAIN-AWP-PGD-AT``, as the seed's table names rows."""
    words, rest = [], method
    for prefix in ("again_", "awp_", "cas_"):
        if rest.startswith(prefix):
            words.append(METHOD_WORDS[prefix[:-1]])
            rest = rest[len(prefix):]
    return "-".join(words + [METHOD_WORDS.get(rest, rest.upper())])


@dataclasses.dataclass(frozen=True)
class Loaded:
    target: object
    config: RunConfig | None
    name: str
    default_output: Path
    model_path: Path  # the checkpoint file or SavedModel folder: what the record's fingerprint covers


def load_target(path: Path, checkpoint: str, dataset: str | None) -> Loaded:
    """A run folder or .keras file gives the Keras model (adaptive attacks through the auxiliary
    heads possible); a SavedModel folder gives its ``serving_default`` signature."""
    if not path.exists():
        raise EvaluationError(f"{path}: no such run folder, checkpoint or SavedModel.")
    if (path / "saved_model.pb").is_file():
        return Loaded(saved_model_target(path), None, path.name, path.parent / f"eval-{path.name}", path)
    source = resolve_source(path, checkpoint)
    config = run_config(source)
    info = source_dataset(source, config.data.dataset if config else dataset)
    model = load_trained_model(source, info)
    beta = config.again.beta_aux if config else 2.0
    target = keras_target(model, info.image_shape, beta, str(source.checkpoint))
    name = method_label(config.method) if config else source.checkpoint.stem
    base = path if path.is_dir() else source.checkpoint.parent
    return Loaded(target, config, name, base / "eval" / source.checkpoint.stem, source.checkpoint)


def test_arrays(args, config: RunConfig | None):
    name = args.dataset or (config.data.dataset if config else None)
    if name is None:
        raise ConfigError(f"--dataset: a SavedModel does not say its data set; pass one of "
                          f"{', '.join(DATASETS)}.")
    source = config.data.source if config and not args.data_dir else "auto"
    data_dir = args.data_dir or (config.data.data_dir if config else None)
    _, (x, y) = load_arrays(dataset_info(name), source, data_dir)
    if args.n is not None:
        if args.n < 1:
            raise ConfigError(f"--n: must be >= 1, got {args.n}.")
        x, y = x[:args.n], y[:args.n]
    return (x.astype(np.float32) / 255.0), y.astype(np.int32)


def settings_from(args, config: RunConfig | None) -> EvalSettings:
    eps = args.eps if args.eps is not None else (config.attack.eps if config else 8 / 255)
    norm = args.norm or (config.attack.norm if config else "linf")
    return EvalSettings(eps=eps, step_size=args.step_size, norm=norm, restarts=args.restarts,
                        kappa=args.kappa, adaptive=args.adaptive, seed=args.seed,
                        batch_size=args.batch_size)


def output_dir(output: Path | None, loaded: Loaded) -> Path:
    """The output folder; never inside the SavedModel it evaluates, whose fingerprint covers every
    file below it (the record would change the model it names, and TF Serving would ship it)."""
    out_dir = output or loaded.default_output
    model = loaded.model_path.resolve()
    if model.is_dir() and out_dir.resolve().is_relative_to(model):
        raise EvaluationError(f"--output {out_dir}: inside the SavedModel {loaded.model_path}; "
                              f"choose a folder outside it (the default is {loaded.default_output}).")
    return out_dir


def log_tensorboard(out_dir: Path, acc: dict, table: str) -> None:
    writer = tf.summary.create_file_writer(str(out_dir / "tensorboard"))
    with writer.as_default():
        for name, value in acc.items():
            tf.summary.scalar(f"eval/{name}", value, step=0)
        tf.summary.text("eval/table", table, step=0)
    writer.flush()


def evaluate(args) -> dict:
    specs = parse_attacks(args.attacks)
    loaded = load_target(args.model, args.checkpoint, args.dataset)
    out_dir = output_dir(args.output, loaded)
    settings = settings_from(args, loaded.config)
    images, labels = test_arrays(args, loaded.config)
    header = {"model": model_fingerprint(loaded.model_path), "checkpoint": args.checkpoint, "n": len(images),
              "attacks": [s.name for s in specs], "settings": dataclasses.asdict(settings)}
    record = EvalRecord(out_dir / "record.jsonl", header, resume=args.resume, overwrite=args.overwrite)
    print(f"Evaluating {loaded.name} ({loaded.target.description or args.model}) on {len(images)} "
          f"test images, eps {settings.eps:.4g}, step {settings.step:.4g}", flush=True)
    columns = run_attacks(loaded.target, images, labels, specs, settings, record,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    acc = accuracies(columns)
    checks = run_checks(columns, acc, specs)
    write_outputs(out_dir, loaded.name, columns, acc, specs, checks, header["settings"])
    table = markdown_table(loaded.name, acc, specs)
    log_tensorboard(out_dir, acc, table)
    if loaded.config is not None and args.model.is_dir():  # the run's HParams row gets these too
        write_hparams(args.model / "tensorboard", {f"{s.name}_accuracy": acc[s.name] for s in specs})
    print("\n" + table + "\n\n" + "\n".join(c.line() for c in checks) + f"\n\nWritten to {out_dir}")
    return acc


def main(argv=None) -> int:
    try:
        evaluate(parse_args(argv))
    except AgainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
