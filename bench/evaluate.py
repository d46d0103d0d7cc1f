"""AutoAttack, ours against an independent implementation, on one trained model in one run:
per-component robust accuracy (must agree within 1 point) and images/s of each.

    scripts/setup_reference.sh   # once: torchattacks in .venv-ref
    python -m bench.evaluate RUN_DIR [--n 500] [--eps 0.1] [--out docs/results/autoattack_crosscheck.json]

Ours is ``again_tf.attacks.autoattack`` (standard version) on the deployed model; the reference
is torchattacks' components composed the same way, run by ``bench.autoattack_reference`` in the
reference environment through a torch autograd bridge to the same Keras model. Both attack the
main head through the inference-mode ASE masks (``training.evaluate`` adds the adaptive pass).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from again_tf.attacks.autoattack import VERSIONS, autoattack
from again_tf.data import load_arrays
from again_tf.engine.checkpoints import load_trained_model, resolve_source, source_dataset
from again_tf.evaluation import keras_target

COMPONENTS = VERSIONS["standard"]
TOLERANCE = 0.01  # per-component agreement the validation requires
REFERENCE_PYTHON = Path(".venv-ref/bin/python")


def run_ours(run_dir: Path, checkpoint: str, n: int, eps: float, seed: int) -> dict:
    source = resolve_source(run_dir, checkpoint)
    info = source_dataset(source)
    target = keras_target(load_trained_model(source, info), info.image_shape)
    _, (x, y) = load_arrays(info)
    x, y = (x[:n] / 255.0).astype(np.float32), y[:n].astype(np.int32)
    start = time.perf_counter()
    result = autoattack(target.outputs_fn, x, y, eps=eps, seed=seed, log=print)
    total = time.perf_counter() - start
    return {**result.robust_accuracy, "seconds": {**result.seconds, "total": total},
            "broken_by": result.broken_by.tolist(), "implementation": "again_tf"}


def run_reference(python: Path, run_dir: Path, checkpoint: str, n: int, eps: float, seed: int) -> dict:
    if not python.exists():
        sys.exit(f"{python} not found: run scripts/setup_reference.sh first (torchattacks in .venv-ref).")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reference.json"
        start = time.perf_counter()
        command = [str(python), "-m", "bench.autoattack_reference", str(run_dir), "--n", str(n), "--eps",
                   str(eps), "--checkpoint", checkpoint, "--seed", str(seed), "--out", str(out)]
        subprocess.run(command, check=True)
        total = time.perf_counter() - start
        result = json.loads(out.read_text())
    result["seconds"]["total"] = sum(result["seconds"].values())
    result["seconds"]["process"] = total
    return result


def compare(ours: dict, reference: dict, n: int) -> tuple[list[str], bool]:
    """Markdown rows (one per component, then images/s) and whether every component agrees."""
    rows = ["| after | again_tf | reference | difference |", "|---|---|---|---|"]
    agree = True
    for name in ("clean", *COMPONENTS):
        diff = ours[name] - reference[name]
        agree &= abs(diff) <= TOLERANCE + 1e-9
        rows.append(f"| {name} | {100 * ours[name]:.2f}% | {100 * reference[name]:.2f}% | "
                    f"{100 * diff:+.2f} pt |")
    same = np.mean(np.asarray(ours["broken_by"]) == "") - np.mean(np.asarray(reference["broken_by"]) == "")
    rows.append(f"| robust (final) | | | {100 * same:+.2f} pt |")
    for name in (*COMPONENTS, "total"):
        rows.append(f"| seconds {name} | {ours['seconds'][name]:.1f} | {reference['seconds'][name]:.1f} | "
                    f"x{reference['seconds'][name] / max(ours['seconds'][name], 1e-9):.2f} |")
    rows.append(f"| images/s (all components) | {n / ours['seconds']['total']:.2f} | "
                f"{n / reference['seconds']['total']:.2f} | |")
    return rows, agree


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--checkpoint", default="last")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-python", type=Path, default=REFERENCE_PYTHON)
    parser.add_argument("--out", type=Path, default=None, help="JSON with both results and the table")
    args = parser.parse_args(argv)
    print(f"again_tf AutoAttack (standard) on {args.n} test images, eps {args.eps}", flush=True)
    ours = run_ours(args.run_dir, args.checkpoint, args.n, args.eps, args.seed)
    print("reference (torchattacks through the bridge)", flush=True)
    reference = run_reference(args.reference_python, args.run_dir, args.checkpoint, args.n, args.eps,
                              args.seed)
    rows, agree = compare(ours, reference, args.n)
    verdict = f"{'PASS' if agree else 'FAIL'}: every component within {100 * TOLERANCE:.0f} point"
    print("\n".join(rows) + f"\n\n{verdict}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {"n": args.n, "eps": args.eps, "run": str(args.run_dir), "ours": ours,
                  "reference": reference, "table": rows, "verdict": verdict}
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
