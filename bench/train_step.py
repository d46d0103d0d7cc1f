"""Images/s of one training step: clean training, PGD-AT and AGAIN-PGD-AT, same backbone and batch.

    python -m bench.train_step [--backbone small_cnn] [--batch 128] [--steps 10] [--repeats 3]

Methods are timed in turns (A, B, C, A, B, C, ...) so machine drift hits them alike; each
figure is the median over repeats. Clean training is a plain CE step on the AGAIN-off model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from again_tf.config import apply_overrides, get_preset, with_method
from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model


def _config(method: str, backbone: str, dataset: str, batch: int, steps: int):
    config = with_method(get_preset("quickstart"), method)
    return apply_overrides(config, {"model.backbone": backbone, "data.dataset": dataset,
                                    "data.batch_size": str(batch), "attack.steps": str(steps)})


def _clean_step(model):
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return lambda x, y: step(x, y)


def _adversarial_step(model):
    return lambda x, y: model.train_on_batch(x, y)


def make_steps(args) -> dict:
    info = dataset_info(args.dataset)
    steps = {}
    for label, method in (("clean", "pgd_at"), ("PGD-AT", "pgd_at"), ("AGAIN-PGD-AT", "again_pgd_at")):
        config = _config(method, args.backbone, args.dataset, args.batch, args.attack_steps)
        model = build_model(config, info)
        if label == "clean":
            steps[label] = _clean_step(model)
        else:
            steps[label] = _adversarial_step(compile_model(model, config, steps_per_epoch=1000))
    return steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="small_cnn")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--attack-steps", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    shape = dataset_info(args.dataset).image_shape
    x = tf.constant(np.random.default_rng(0).uniform(size=(args.batch, *shape)).astype(np.float32))
    y = tf.constant(np.random.default_rng(1).integers(0, 10, args.batch).astype(np.int32))
    steps = make_steps(args)
    for fn in steps.values():  # trace and warm up
        fn(x, y)
        fn(x, y)
    timings = {label: [] for label in steps}
    for _ in range(args.repeats):
        for label, fn in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                fn(x, y)
            timings[label].append((time.perf_counter() - start) / args.steps)
    print(f"backbone={args.backbone} dataset={args.dataset} batch={args.batch} "
          f"PGD steps={args.attack_steps} (median of {args.repeats} x {args.steps} steps)")
    print(f"{'method':<14} {'s/step':>8} {'images/s':>9} {'vs PGD-AT':>10}")
    base = statistics.median(timings["PGD-AT"])
    for label, values in timings.items():
        seconds = statistics.median(values)
        print(f"{label:<14} {seconds:8.3f} {args.batch / seconds:9.1f} {seconds / base:9.3f}x")


if __name__ == "__main__":
    main()
