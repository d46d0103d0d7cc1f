"""The robustness table of what a run produced: its folder, a checkpoint or an exported
SavedModel; the library side of ``python -m training.evaluate``.

Prints the table in the seed's format and the gradient-masking checks, and writes table.md,
results.csv, results.json, per_example.csv, record.jsonl (resumable) and TensorBoard summaries.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from again_tf.callbacks import write_hparams
from again_tf.config.schema import DATASETS, RunConfig, default_eps
from again_tf.data import dataset_info, load_arrays
from again_tf.engine import soft_surrogates
from again_tf.engine.checkpoints import load_trained_model, resolve_source, run_config, source_dataset
from again_tf.errors import ConfigError
from again_tf.evaluation import (
    DEFAULT_ATTACKS,
    PAST_MASKS,
    EvalRecord,
    EvalSettings,
    EvalTarget,
    EvaluationError,
    accuracies,
    keras_target,
    markdown_table,
    model_fingerprint,
    parse_attacks,
    run_attacks,
    run_checks,
    saved_model_target,
    with_worst_case,
    write_outputs,
)
from again_tf.evaluation.checks import Check
from again_tf.evaluation.transfer import TEMPERATURES

METHOD_WORDS = {"again": "AGAIN", "awp": "AWP", "cas": "CAS", "pgd_at": "PGD-AT", "trades": "TRADES",
                "mart": "MART", "fat_trades": "FAT-TRADES", "las_at": "LAS-AT"}


@dataclasses.dataclass(frozen=True)
class EvalRequest:
    """What to evaluate and how; the fields of ``python -m training.evaluate``'s flags."""
    model: Path
    attacks: str | None = None  # comma separated; None: default_attacks
    n: int | None = None
    eps: float | None = None
    step_size: float | None = None
    norm: str | None = None
    restarts: int = 1
    kappa: float = 0.0
    adaptive: str = "both"
    batch_size: int = 256
    seed: int = 0
    checkpoint: str = "last"
    dataset: str | None = None
    data_dir: str | None = None
    output: Path | None = None
    resume: bool = False
    overwrite: bool = False


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
    target: EvalTarget
    config: RunConfig | None
    name: str
    default_output: Path
    model_path: Path  # the checkpoint file or SavedModel folder: what the record's fingerprint covers
    surrogates: Callable[[], tuple] = tuple  # builds the soft-mask stand-ins for the transfer attacks

    def target_for(self, specs) -> EvalTarget:
        """The target, with its surrogates built only when a ``transfer`` column needs them."""
        if not any(s.kind == "transfer" for s in specs):
            return self.target
        return dataclasses.replace(self.target, surrogates=self.surrogates())


def load_target(path: Path, checkpoint: str, dataset: str | None) -> Loaded:
    """A run folder or .keras file gives the Keras model (adaptive attacks through the auxiliary
    heads possible, and with the run's config soft-mask surrogates for the ``transfer`` attacks);
    a SavedModel folder gives its ``serving_default`` signature."""
    if not path.exists():
        raise EvaluationError(f"{path}: no such run folder, checkpoint or SavedModel.")
    if (path / "saved_model.pb").is_file():
        return Loaded(saved_model_target(path), None, path.name, path.parent / f"eval-{path.name}", path)
    source = resolve_source(path, checkpoint)
    config = run_config(source)
    info = source_dataset(source, config.data.dataset if config else dataset)
    model = load_trained_model(source, info)
    beta = config.again.beta_aux if config else None  # None: the weight saved with the model
    target = keras_target(model, info.image_shape, beta, str(source.checkpoint))
    name = method_label(config.method) if config else source.checkpoint.stem
    base = path if path.is_dir() else source.checkpoint.parent
    surrogates = lambda: soft_surrogates(model, config, info, TEMPERATURES) if config else ()
    return Loaded(target, config, name, base / "eval" / source.checkpoint.stem, source.checkpoint, surrogates)


def default_attacks(target, adaptive: str) -> str:
    """The seed's table, plus the attacks past the argmax masks for a model with ASE heads when
    the evaluation is adaptive: without them its worst case can be points too high."""
    extra = (PAST_MASKS,) if adaptive == "both" and target.has_aux() else ()
    return ",".join(DEFAULT_ATTACKS + extra)


def test_arrays(args: EvalRequest, config: RunConfig | None) -> tuple[np.ndarray, np.ndarray]:
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


def settings_from(args: EvalRequest, config: RunConfig | None) -> EvalSettings:
    eps = args.eps if args.eps is not None else (config.attack.eps if config else default_eps(args.dataset))
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


def selection_check(loaded: Loaded) -> Check | None:
    """WARN when the evaluated checkpoint was chosen on test images (a run with
    data.val_source=test): its test numbers are then optimistic; ``last`` was chosen by nothing."""
    if loaded.config is None or loaded.model_path.stem != "best_robust":
        return None
    data = loaded.config.data
    if not data.validates_on_test:
        return Check("model selection", True, f"best_robust chosen on {data.val_examples} held-out "
                     f"training images (data.val_source=holdout)")
    images = f"the first {data.val_examples}" if data.val_examples else "all"
    return Check("model selection", False, f"best_robust chosen on {images} test images "
                 f"(data.val_source=test)", "its test accuracies are optimistic; report --checkpoint last, "
                 "or retrain with data.val_source=holdout")


def log_tensorboard(out_dir: Path, acc: dict, table: str) -> None:
    writer = tf.summary.create_file_writer(str(out_dir / "tensorboard"))
    with writer.as_default():
        for name, value in acc.items():
            tf.summary.scalar(f"eval/{name}", value, step=0)
        tf.summary.text("eval/table", table, step=0)
    writer.flush()


def evaluate(args: EvalRequest) -> dict:
    """Runs the attacks, writes the outputs and returns the accuracy per attack."""
    specs = parse_attacks(args.attacks) if args.attacks is not None else None  # a typo fails early
    loaded = load_target(args.model, args.checkpoint, args.dataset)
    specs = specs or parse_attacks(default_attacks(loaded.target, args.adaptive))
    out_dir = output_dir(args.output, loaded)
    settings = settings_from(args, loaded.config)
    images, labels = test_arrays(args, loaded.config)
    header = {"model": model_fingerprint(loaded.model_path), "checkpoint": args.checkpoint, "n": len(images),
              "attacks": [s.name for s in specs], "settings": dataclasses.asdict(settings)}
    record = EvalRecord(out_dir / "record.jsonl", header, resume=args.resume, overwrite=args.overwrite)
    print(f"Evaluating {loaded.name} ({loaded.target.description or args.model}) on {len(images)} "
          f"test images, eps {settings.eps:.4g}, step {settings.step:.4g}", flush=True)
    columns = run_attacks(loaded.target_for(specs), images, labels, specs, settings, record,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    columns = with_worst_case(columns, specs)
    acc = accuracies(columns)
    checks = run_checks(columns, acc, specs) + [c for c in (selection_check(loaded),) if c]
    write_outputs(out_dir, loaded.name, columns, acc, specs, checks, header["settings"])
    table = markdown_table(loaded.name, acc, specs)
    log_tensorboard(out_dir, acc, table)
    if loaded.config is not None and args.model.is_dir():  # the run's HParams row gets these too
        write_hparams(args.model / "tensorboard", {f"{s.name}_accuracy": acc[s.name] for s in specs})
    print("\n" + table + "\n\n" + "\n".join(c.line() for c in checks) + f"\n\nWritten to {out_dir}")
    return acc
