"""Transfer attacks on a run's ASE model (``again_tf.evaluation.transfer``), and the worst case
together with the run's evaluations; the library side of ``python -m training.analyze transfer``.

Writes ``<run>/eval/transfer-<checkpoint>/``: per_example.csv (0/1 per attack and image) and
results.json (settings, accuracies, and the worst case with each evaluation record of the same
checkpoint). A record counts only when its model fingerprint is this checkpoint's: worst cases
over two different models would be meaningless.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from again_tf.attacks.pgd import PGDSettings
from again_tf.config.schema import default_step_size
from again_tf.data import dataset_info
from again_tf.engine import soft_surrogates
from again_tf.engine.checkpoints import resolve_source
from again_tf.errors import ConfigError
from again_tf.evaluation import model_fingerprint, read_record
from again_tf.evaluation.checks import transfer_check
from again_tf.evaluation.report import META, write_per_example
from again_tf.evaluation.transfer import TEMPERATURES, WORST, past_mask_attacks, transfer_columns
from again_tf.run.loaded_run import load_run


@dataclasses.dataclass(frozen=True)
class TransferRequest:
    """The flags of ``training.analyze transfer`` (which checks them); eps is the run's training eps."""

    run: Path
    n: int = 1000
    steps: int = 50
    temperatures: tuple[float, ...] = TEMPERATURES
    checkpoint: str = "last"
    batch_size: int = 250
    seed: int = 0

    @property
    def out_dir(self) -> Path:
        return self.run / "eval" / f"transfer-{self.checkpoint}"


def build_attacks(model, config, info, request: TransferRequest) -> dict:
    """One attack per ASE head, one soft-mask transfer per temperature (none when the model's
    masks are soft already: it is its own differentiable surrogate)."""
    sites = len(model.forward(tf.zeros((1, *info.image_shape)), training=False).aux_logits)
    if sites == 0:
        raise ConfigError(f"{request.run}: the model has no ASE site, so there is no argmax mask to get "
                          f"past; pass runs of an ASE method (again_*, cas).")
    eps = config.attack.eps
    attack = PGDSettings(eps, default_step_size(eps), request.steps, config.attack.norm)
    surrogates = soft_surrogates(model, config, info, request.temperatures)
    return past_mask_attacks(model.inference_fn(), sites, surrogates, model.beta_aux, attack)


def measure(request: TransferRequest, write=print) -> dict:
    """Runs the attacks batch by batch (batch b seeded with ``seed + b``), writes the outputs and
    returns results.json's content."""
    model, config, x, y = load_run(request.run, request.checkpoint)
    if config is None:
        raise ConfigError(f"{request.run}: no config.json; give a run folder written by training.train.")
    info = dataset_info(config.data.dataset)
    attacks = build_attacks(model, config, info, request)
    x, y = x[:request.n], y[:request.n]
    logits_fn = lambda images: model.forward(images, training=False).logits
    batches, size = [], request.batch_size
    for batch, start in enumerate(range(0, len(x), size)):
        tf.random.set_seed(request.seed + batch)
        batches.append(transfer_columns(logits_fn, attacks, x[start:start + size], y[start:start + size]))
        shares = ", ".join(f"{k} {100 * v.mean():.2f}%" for k, v in batches[-1].items())
        write(f"  batch {batch + 1}: {shares}")
    columns = {"index": np.arange(len(x)), "label": y,
               **{k: np.concatenate([b[k] for b in batches]) for k in batches[0]}}
    fingerprint = model_fingerprint(resolve_source(request.run, request.checkpoint).checkpoint)
    eps = config.attack.eps
    results = {"run": str(request.run), "checkpoint": request.checkpoint, "model": fingerprint,
               "examples": len(x), "eps": eps, "steps": request.steps, "seed": request.seed,
               "accuracy": {k: float(v.mean()) for k, v in columns.items() if k not in META},
               "with_evaluations": with_evaluations(request.run, fingerprint, eps, columns[WORST])}
    write_outputs(request.out_dir, columns, results)
    return results


def with_evaluations(run: Path, fingerprint: str, eps: float, worst: np.ndarray) -> dict:
    """Per evaluation record of this checkpoint at this eps (``eval/<name>/record.jsonl``), on the
    images both cover: its worst case over its attacks, and that worst case with the transfer attacks."""
    found = {}
    for path in sorted((run / "eval").glob("*/record.jsonl")):
        header, columns = read_record(path)
        same_eps = header.get("settings", {}).get("eps") == eps
        if header.get("model") != fingerprint or not same_eps or "index" not in columns:
            continue
        covered = columns["index"] < len(worst)
        attacks = [a for a in header.get("attacks", []) if a != "clean" and a in columns]
        if not attacks or not covered.any():
            continue
        table = np.minimum.reduce([columns[a][covered] for a in attacks])
        with_transfer = np.minimum(table, worst[columns["index"][covered]])
        found[path.parent.name] = {"attacks": attacks, "examples": int(covered.sum()),
                                   "table_worst": float(table.mean()),
                                   "with_transfer": float(with_transfer.mean())}
    return found


def summary_lines(request: TransferRequest, results: dict) -> list[str]:
    acc = results["accuracy"]
    attacks = ", ".join(f"{k} {100 * v:.2f}%" for k, v in acc.items() if k != WORST)
    lines = [f"{request.run.name} ({results['examples']} test images, eps {results['eps']:g}, "
             f"{results['steps']} steps, {request.checkpoint}): {attacks}; worst {100 * acc[WORST]:.2f}%"]
    joined = results["with_evaluations"].items()
    lines += [transfer_check(f"eval/{name}", found).line() for name, found in joined]
    if not results["with_evaluations"]:
        lines.append(f"  (no evaluation record of this checkpoint and eps under {request.run / 'eval'} "
                     "to combine with)")
    return lines


def write_outputs(out_dir: Path, columns: dict, results: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_per_example(out_dir / "per_example.csv", columns)
