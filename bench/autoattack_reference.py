"""Standard AutoAttack from an independent implementation (torchattacks 3.5.1, ported from the
original PyTorch code) on our Keras model, through a torch autograd bridge.

    scripts/setup_reference.sh
    PYTHONPATH=. .venv-ref/bin/python -m bench.autoattack_reference RUN_DIR [--n 500] [--eps 0.1]
        [--checkpoint last] [--out reference.json]

Runs the four components of the original's standard version with its settings (APGD-CE 100
iterations, APGD-T 100 iterations x 9 targets, FAB-T 100 iterations x 9 targets, Square 5000
queries; one restart each), in that order, each on the examples still robust, on the deployed
model (ASE masks from its own predictions). torchattacks' own ``AutoAttack`` class runs 10
iterations per component, so the components are composed here. Prints and writes the robust
accuracy after each component, the per-example record and the time per component.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import torch
import torchattacks

from again_tf.data import load_arrays
from again_tf.engine.checkpoints import load_trained_model, resolve_source, source_dataset

COMPONENTS = ("apgd-ce", "apgd-t", "fab-t", "square")


class _TFLogits(torch.autograd.Function):
    """Logits and input gradients of a TF function, for torch's autograd (NCHW <-> NHWC)."""

    @staticmethod
    def forward(ctx, x, bridge):
        ctx.save_for_backward(x)
        ctx.bridge = bridge
        return torch.from_numpy(bridge.logits(x.detach().numpy()))

    @staticmethod
    def backward(ctx, grad_logits):
        (x,) = ctx.saved_tensors
        grad = ctx.bridge.vjp(x.detach().numpy(), grad_logits.detach().numpy())
        return torch.from_numpy(grad), None


class KerasBridge(torch.nn.Module):
    """A torch module whose forward is the Keras model in inference mode."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # tells torchattacks the device
        self._logits = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        self._vjp = tf.function(self._vjp_fn, reduce_retracing=True)

    def _vjp_fn(self, x, g):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = self.model(x, training=False)
        return tape.gradient(logits, x, output_gradients=g)

    def logits(self, x_nchw: np.ndarray) -> np.ndarray:
        return self._logits(tf.constant(x_nchw.transpose(0, 2, 3, 1))).numpy()

    def vjp(self, x_nchw: np.ndarray, g: np.ndarray) -> np.ndarray:
        grad = self._vjp(tf.constant(x_nchw.transpose(0, 2, 3, 1)), tf.constant(g)).numpy()
        return np.ascontiguousarray(grad.transpose(0, 3, 1, 2))

    def forward(self, x):
        return _TFLogits.apply(x.float(), self)


def components(model, eps: float, n_classes: int, seed: int) -> dict:
    return {
        "apgd-ce": torchattacks.APGD(model, norm="Linf", eps=eps, steps=100, n_restarts=1, loss="ce",
                                     seed=seed),
        "apgd-t": torchattacks.APGDT(model, norm="Linf", eps=eps, steps=100, n_restarts=1,
                                     n_classes=n_classes, seed=seed),
        "fab-t": torchattacks.FAB(model, norm="Linf", eps=eps, steps=100, n_restarts=1,
                                  multi_targeted=True, n_classes=n_classes, seed=seed),
        "square": torchattacks.Square(model, norm="Linf", eps=eps, n_queries=5000, n_restarts=1,
                                      resc_schedule=False, seed=seed),  # as AutoAttack runs it
    }


def run(bridge, x: np.ndarray, y: np.ndarray, eps: float, n_classes: int, seed: int = 0) -> dict:
    """Per-component robust accuracy of the cascade, and which component broke each example."""
    x_t, y_t = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y.astype(np.int64))
    robust = bridge.logits(x_t.numpy()).argmax(1) == y
    broken_by = np.where(robust, "", "clean").astype(object)
    result = {"clean": float(robust.mean()), "seconds": {}}
    for name, attack in components(bridge, eps, n_classes, seed).items():
        index = np.flatnonzero(robust)
        start = time.perf_counter()
        if index.size:
            x_adv = attack(x_t[index], y_t[index]).detach().numpy()
            assert np.abs(x_adv - x_t[index].numpy()).max() <= eps + 1e-6
            still = bridge.logits(x_adv).argmax(1) == y[index]
            broken_by[index[~still]] = name
            robust[index[~still]] = False
        result["seconds"][name] = time.perf_counter() - start
        result[name] = float(robust.mean())
        print(f"  after {name:<8} robust {100 * result[name]:6.2f}%  ({result['seconds'][name]:.0f} s)",
              flush=True)
    result["broken_by"] = broken_by.tolist()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--checkpoint", default="last")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the work is in TF; torch only holds the tensors
    source = resolve_source(args.run_dir, args.checkpoint)
    info = source_dataset(source)
    bridge = KerasBridge(load_trained_model(source, info))
    _, (x, y) = load_arrays(info)
    x, y = (x[:args.n] / 255.0).astype(np.float32), y[:args.n].astype(np.int64)
    print(f"torchattacks {torchattacks.__version__} on {source.checkpoint}, {len(x)} test images, "
          f"eps {args.eps}", flush=True)
    result = run(bridge, x, y, args.eps, info.num_classes, args.seed)
    result.update(n=len(x), eps=args.eps, implementation=f"torchattacks {torchattacks.__version__}")
    out = args.out or source.checkpoint.parent.parent / "eval" / f"autoattack_reference_n{args.n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"Written to {out}")


if __name__ == "__main__":
    main()
