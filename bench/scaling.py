"""Step time of AGAIN-PGD-AT training for 1 vs 2 replicas, with and without mixed precision and
XLA, measured in one run (configurations timed in turns, median over repeats).

    python -m bench.scaling [--backbone small_cnn] [--batch 128] [--attack-steps 2] [--steps 5]

Two replicas here are two logical devices on the same 2 CPU cores (MirroredStrategy), so the
figure shows the strategy's overhead, not a speed-up: on a machine with 2 GPUs each replica has
its own device. Mixed precision on a CPU is bfloat16, which most CPUs emulate (slower); on a
GPU with tensor cores mixed_float16 is the fast path. See the README's multi-GPU section.
"""

from __future__ import annotations

import argparse
import statistics
import time

import tensorflow as tf

_CPUS = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _CPUS[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402
import numpy as np  # noqa: E402

from again_tf.config import apply_overrides, get_preset, with_method  # noqa: E402
from again_tf.data import dataset_info  # noqa: E402
from again_tf.engine import build_model, compile_model  # noqa: E402
from again_tf.engine.precision import dtype_policy, policy_name  # noqa: E402

CONFIGURATIONS = {  # label: (replicas, mixed precision, XLA)
    "1 replica": (1, False, False),
    "2 replicas": (2, False, False),
    "1 replica, mixed": (1, True, False),
    "1 replica, XLA": (1, False, True),
}


def _step(args, replicas: int, mixed: bool, xla: bool):
    config = apply_overrides(with_method(get_preset("quickstart"), "again_pgd_at"), {
        "model.backbone": args.backbone, "data.batch_size": str(args.batch),
        "attack.steps": str(args.attack_steps), "runtime.jit_compile": str(xla).lower()})
    devices = ["/cpu:0", "/cpu:1"][:replicas]
    strategy = (tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
                if replicas > 1 else tf.distribute.OneDeviceStrategy(devices[0]))
    with strategy.scope(), dtype_policy(policy_name(mixed)):
        model = compile_model(build_model(config, dataset_info("fashion_mnist")), config, 1000)
    shape = dataset_info("fashion_mnist").image_shape
    x = np.random.default_rng(0).uniform(size=(args.batch, *shape)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 10, args.batch).astype(np.int32)
    return lambda: model.train_on_batch(x, y)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="small_cnn")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--attack-steps", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    steps = {label: _step(args, *setting) for label, setting in CONFIGURATIONS.items()}
    for fn in steps.values():  # trace and warm up
        fn()
        fn()
    timings = {label: [] for label in steps}
    for _ in range(args.repeats):
        for label, fn in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                fn()
            timings[label].append((time.perf_counter() - start) / args.steps)
    gpus = len(tf.config.list_physical_devices("GPU"))
    print(f"AGAIN-PGD-AT, {args.backbone}, global batch {args.batch}, PGD-{args.attack_steps}, "
          f"{gpus} GPUs (median of {args.repeats} x {args.steps} steps)")
    base = statistics.median(timings["1 replica"])
    print(f"{'configuration':<18} {'s/step':>8} {'images/s':>9} {'vs 1 replica':>13}")
    for label, values in timings.items():
        seconds = statistics.median(values)
        print(f"{label:<18} {seconds:8.3f} {args.batch / seconds:9.1f} {seconds / base:12.2f}x")


if __name__ == "__main__":
    main()
