"""What one training step of each paper preset costs at its real batch size on this machine, and
what that projects for an epoch and the whole recipe, on this CPU and (from FLOPs) on a GPU.

    python -m bench.paper_presets [--presets paper-resnet18,paper-wrn34:32] [--batch 128] [--steps 3]
        [--single-step-after 180] [--gpu-name A100] [--gpu-tflops 15] [--note TEXT]
        [--output docs/paper_presets.md] [--raw raw.json | --from-raw raw.json [more.json ...]]

``--presets`` takes ``name`` or ``name:batch`` (a smaller batch where the real one does not fit in
the time or memory at hand; its step is scaled linearly to the recipe's batch, and the table says
so). ``--raw`` keeps the measurements, written after each preset, and ``--from-raw`` renders them
again (with other GPU assumptions, say) without measuring; several files make one report (one
row per measurement: a preset measured at two batches has two rows).

Each preset runs in its own subprocess (``--worker``) so that its peak resident set size is its
own: the preset's model (its backbone, its method, its attack), one random CIFAR-shaped batch,
a warm-up step that traces, then the median of ``--steps`` timed steps (one only when the
warm-up took over ``--single-step-after`` seconds: the table says how many), in wall time and in
the process's CPU time (other jobs on the machine inflate the first far more than the second).
LAS-AT also times one strategy-update step (every ``objective.las_interval`` steps) and
amortises it.

FLOPs: the forward FLOPs of one image in inference mode are counted by TensorFlow's profiler on
the frozen concrete function (``forward_flops``; a multiply-add is 2 FLOPs); a step's FLOPs are
that times the forward passes the method makes (``training_passes``, from the code of the train
step: an attack step is forward + backward to the input, about 2 forwards; a pass inside the
gradient tape is forward + backward to weights and input, about 3), times the batch. Validation
(``eval.val_pgd_steps`` PGD on ``data.val_examples`` held-out images, every epoch) is projected
from the measured step by the ratio of FLOPs; the final test evaluation is not included.

GPU columns are projections, not measurements: FLOPs divided by ``--gpu-tflops``, an assumed
sustained throughput.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from again_tf.config import PRESETS, get_preset

TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000, "svhn_cropped": 73_257, "mnist": 60_000,
                "fashion_mnist": 60_000}  # each data set's training split
RESULT_PREFIX = "PAPER_PRESET_RESULT "
ATTACK_STEP = 2.0  # forward + backward to the input (no weight gradients): ~2 forwards
TAPE_PASS = 3.0  # forward + backward to weights and activations: ~3 forwards
CLEAN_PASS_METHODS = {"trades", "fat_trades", "mart", "lbgat"}  # the loss reads F(x) too
KL_ATTACK_METHODS = {"trades", "fat_trades", "lbgat"}  # the attack compares with F(x) first
LAS_REWARD_PGD = (10, 2)  # steps, restarts of the PGD in LAS-AT's reward (methods/las_at.py)
LAS_NOTE = ("its loop runs the largest pick of the batch; what the measured step ran depends on "
            "what the strategy network picked for that batch, which its GFLOP per CPU-second shows")
DEFAULT_GPU = ("A100", 15.0)
GPU_ASSUMPTION = (
    "assumed sustained {tflops:g} TFLOP/s on an {gpu} (about 10% of its 156 TFLOP/s TF32 tensor-core "
    "peak; 19.5 FP32, 312 FP16): a guess for CIFAR-size ResNets at batch 128 in float32, whose small "
    "feature maps keep tensor cores far from peak; not measured here. Mixed precision may be faster; "
    "give a throughput you have measured with `--gpu-tflops`.")


# --- what a preset's step does --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The parts of a RunConfig that decide a step's cost and the recipe's length."""

    preset: str
    method: str  # the --method name, e.g. again_awp_pgd_at
    base: str  # objective.method
    backbone: str
    awp: bool
    ase: bool  # the model has ASE heads: validation attacks through them as well
    attack_steps: int
    epochs: int
    batch: int
    val_examples: int
    val_pgd_steps: int
    train_images: int = TRAIN_IMAGES["cifar10"]
    fixed_steps: int | None = None  # optim.steps_per_epoch
    las_max_iterations: int = 0
    las_interval: int = 1

    @property
    def steps_per_epoch(self) -> int:
        """``optim.steps_per_epoch``, else one pass over the training split without the held-out
        images, the last partial batch dropped (run/session.py, data/pipeline.py)."""
        return self.fixed_steps or (self.train_images - self.val_examples) // self.batch


def recipe_of(preset: str, batch: int | None = None) -> Recipe:
    """The preset's recipe; ``batch`` replaces its batch size (a smaller measurement)."""
    config = get_preset(preset)
    o = config.objective
    return Recipe(preset=preset, method=config.method, base=o.method, backbone=config.model.backbone,
                  awp=o.awp, ase=config.again.ase and bool(config.model.sites),
                  attack_steps=config.attack.steps, epochs=config.optim.epochs,
                  batch=batch or config.data.batch_size, val_examples=config.data.val_examples or 0,
                  val_pgd_steps=config.eval.val_pgd_steps, train_images=TRAIN_IMAGES[config.data.dataset],
                  fixed_steps=config.optim.steps_per_epoch, las_max_iterations=max(o.las_iterations),
                  las_interval=o.las_interval)


@dataclasses.dataclass(frozen=True)
class Passes:
    """Forward-pass equivalents per image: of the trained model, and of the method's other
    network (LBGAT's guide, LAS-AT's strategy network)."""

    model: float
    network: float = 0.0

    def __add__(self, other: Passes) -> Passes:
        return Passes(self.model + other.model, self.network + other.network)

    def scaled(self, factor: float) -> Passes:
        return Passes(self.model * factor, self.network * factor)

    def flops(self, model_flops: float, network_flops: float) -> float:
        return self.model * model_flops + self.network * network_flops


def loss_passes(recipe: Recipe) -> Passes:
    """The loss inside the tape: F(x_adv), F(x) for TRADES-like methods, LBGAT's guide on x."""
    model = TAPE_PASS * (2 if recipe.base in CLEAN_PASS_METHODS else 1)
    return Passes(model, TAPE_PASS if recipe.base == "lbgat" else 0.0)


def las_update_passes(recipe: Recipe) -> Passes:
    """LAS-AT's strategy update (methods/las_at.py): the strategy network's forward + backward,
    the picked attack, the reward's CE on it, one SGD step's gradient, PGD-10 with 2 restarts
    (each ranked by a forward), then clean and robust accuracies."""
    picked = ATTACK_STEP * recipe.las_max_iterations
    steps, restarts = LAS_REWARD_PGD
    reward = 1 + TAPE_PASS + restarts * (ATTACK_STEP * steps + 1) + 2
    return Passes(picked + reward, TAPE_PASS)


def training_passes(recipe: Recipe, amortise_update: bool = True) -> Passes:
    """Forward-pass equivalents per image of one train step (engine/model.py ``_train_step``):
    the attack (a reference forward F(x) for TRADES' KL attack, then each step), AWP's proxy
    loss, the loss, and the two inference forwards of the logged accuracies. FAT's early stop
    does not shorten the loop (stopped examples still pass through it). LAS-AT's attack runs the
    most iterations any example of the batch picked (its maximum, at batch 128), after a strategy
    forward; its update, every ``las_interval`` steps, is amortised unless ``amortise_update`` is
    false (an ordinary step)."""
    if recipe.base == "las_at":
        step = Passes(ATTACK_STEP * recipe.las_max_iterations, 1.0) + loss_passes(recipe) + Passes(2.0)
        share = 1.0 / recipe.las_interval if amortise_update else 0.0
        return step + las_update_passes(recipe).scaled(share)
    reference = 1.0 if recipe.base in KL_ATTACK_METHODS else 0.0
    attack = Passes(reference + ATTACK_STEP * recipe.attack_steps)
    proxy = loss_passes(recipe) if recipe.awp else Passes(0.0)
    return attack + proxy + loss_passes(recipe) + Passes(2.0)


def validation_passes(recipe: Recipe) -> Passes:
    """Per validation image (engine/model.py ``test_step``): PGD-k through the ASE heads, then on
    the main head (an upper bound: the second attack runs on the survivors only), each checked
    by a forward; the clean forward; the loss terms in inference mode."""
    attacks = 2 if recipe.ase else 1
    clean = 1.0 if recipe.base in CLEAN_PASS_METHODS else 0.0
    model = attacks * (ATTACK_STEP * recipe.val_pgd_steps + 1) + 1 + 1 + clean
    return Passes(model, 1.0 if recipe.base == "lbgat" else 0.0)


# --- projections ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Projection:
    """Seconds of a step, an epoch (training + validation) and the recipe, on one device."""

    step: float
    train_epoch: float
    validation: float
    epochs: int

    @property
    def epoch(self) -> float:
        return self.train_epoch + self.validation

    @property
    def recipe(self) -> float:
        return self.epochs * self.epoch


def project(recipe: Recipe, step_seconds: float, step_flops: float, validation_flops: float) -> Projection:
    """From one (amortised) step's time: the epoch's steps, plus validation scaled by its FLOPs."""
    validation = step_seconds * validation_flops / step_flops
    return Projection(step_seconds, recipe.steps_per_epoch * step_seconds, validation, recipe.epochs)


def flops_of(recipe: Recipe, model_flops: float, network_flops: float) -> tuple[float, float]:
    """FLOPs of one training step (the whole batch) and of one epoch's validation."""
    step = training_passes(recipe).flops(model_flops, network_flops) * recipe.batch
    validation = validation_passes(recipe).flops(model_flops, network_flops) * recipe.val_examples
    return step, validation


def amortised_step(recipe: Recipe, step_seconds: float, update_seconds: float | None) -> float:
    """LAS-AT: (interval - 1) ordinary steps and one strategy-update step per interval."""
    if recipe.base != "las_at" or update_seconds is None:
        return step_seconds
    return ((recipe.las_interval - 1) * step_seconds + update_seconds) / recipe.las_interval


def format_duration(seconds: float) -> str:
    """The unit a reader plans with: s under 2 min, min under 2 h, h under 2 days, else days."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub table; every row must have a cell per header."""
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"table row {list(row)} has {len(row)} cells for {len(headers)} headers.")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- the report ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Measured:
    """A worker's result (``measure``'s JSON)."""

    preset: str
    batch: int
    warmup: float
    steps: list[float]
    update_step: float | None
    peak_rss_mb: float
    params: int
    model_flops: float
    network_flops: float
    cpu_steps: list[float] = dataclasses.field(default_factory=list)  # process CPU time, all threads
    cpu_update: float | None = None

    @property
    def step(self) -> float:
        return statistics.median(self.steps)

    @property
    def cpu_step(self) -> float:
        return statistics.median(self.cpu_steps) if self.cpu_steps else float("nan")


def _timed(m: Measured) -> str:
    """The step time and how it was taken."""
    text = f"{m.step:.3g} s " + (f"(median of {len(m.steps)})" if len(m.steps) > 1 else "(1 step)")
    return text + ("" if m.update_step is None else f"; strategy update {m.update_step:.3g} s")


def _cpu_timed(m: Measured) -> str:
    return f"{m.cpu_step:.3g} s" + ("" if m.cpu_update is None else f"; update {m.cpu_update:.3g} s")


def _passes_cell(recipe: Recipe) -> str:
    passes = training_passes(recipe)
    return f"{passes.model:.1f}" + (f" + {passes.network:.2f} net" if passes.network else "")


def real_batch_step(m: Measured, real: Recipe, cpu_time: bool = False) -> float:
    """Seconds of one (amortised) step at the recipe's batch: measured at it, or scaled linearly
    from a smaller measured batch (CPU steps at these sizes are compute-bound)."""
    measured = recipe_of(m.preset, m.batch)
    step, update = (m.cpu_step, m.cpu_update) if cpu_time else (m.step, m.update_step)
    return amortised_step(measured, step, update) * real.batch / m.batch


def cpu_rate(m: Measured) -> float:
    """Counted FLOPs of the measured (ordinary) step per CPU-second."""
    ordinary = training_passes(recipe_of(m.preset, m.batch), amortise_update=False)
    return ordinary.flops(m.model_flops, m.network_flops) * m.batch / m.cpu_step


def rate_notes(measured: Sequence[Measured], tolerance: float = 0.3) -> list[str]:
    """A line for each preset whose FLOPs per CPU-second are off the median by more than
    ``tolerance``: its step did that much more or less work than its pass count says."""
    rates = {m.preset: cpu_rate(m) for m in measured}
    if len(rates) < 3:
        return []
    median = statistics.median(rates.values())
    return [f"{name}: {rate / 1e9:.0f} GFLOP per CPU-second against a median of {median / 1e9:.0f}: "
            f"its step did about {median / rate:.0%} of the work its pass count says."
            for name, rate in rates.items() if abs(rate / median - 1) > tolerance]


def rows_for(measured: Sequence[Measured], gpu_tflops: float, cores: int) -> dict[str, list[list[object]]]:
    """The report's three tables: measured, CPU projection, FLOPs and GPU projection. Every
    projection is of the preset's own recipe (its batch, epochs, validation)."""
    tables: dict[str, list[list[object]]] = {"measured": [], "cpu": [], "gpu": []}
    for m in measured:
        real = recipe_of(m.preset)
        step_flops, val_flops = flops_of(real, m.model_flops, m.network_flops)
        cpu = project(real, real_batch_step(m, real), step_flops, val_flops)
        free = project(real, real_batch_step(m, real, cpu_time=True) / cores, step_flops, val_flops)
        gpu = project(real, step_flops / (gpu_tflops * 1e12), step_flops, val_flops)
        batch = str(m.batch) if m.batch == real.batch else f"{m.batch} (recipe {real.batch}: scaled)"
        tables["measured"].append([
            m.preset, real.method, real.backbone, f"{m.params:,}", batch, f"{m.warmup:.1f} s", _timed(m),
            _cpu_timed(m), f"{m.peak_rss_mb / 1024:.2f} GB", f"{cpu_rate(m) / 1e9:.0f}"])
        tables["cpu"].append([
            m.preset, real.steps_per_epoch, real.epochs, f"{free.step:.3g} s",
            *(format_duration(t) for t in (free.train_epoch, free.validation, free.epoch, free.recipe)),
            format_duration(cpu.recipe)])
        tables["gpu"].append([
            m.preset, f"{m.model_flops / 1e9:.2f}", _passes_cell(real), f"{step_flops / 1e12:.2f}",
            f"{val_flops / 1e12:.1f}", f"{gpu.step:.2f} s", format_duration(gpu.epoch),
            format_duration(gpu.recipe)])
    return tables


MEASURED_HEADERS = ("preset", "method", "backbone", "trainable params", "batch", "warm-up step (traces)",
                    "wall s/step", "CPU time/step (all threads)", "peak RSS", "GFLOP per CPU-second")
CPU_HEADERS = ("preset", "steps/epoch", "epochs", "step", "training/epoch", "validation/epoch", "epoch",
               "whole recipe", "whole recipe at the measured wall time")
GPU_HEADERS = ("preset", "forward GFLOP/image", "passes/image (forward equivalents)", "TFLOP/step",
               "validation TFLOP/epoch", "GPU s/step", "GPU epoch", "GPU whole recipe")


def render(measured: Sequence[Measured], failed: dict[str, str], meta: dict, gpu: tuple[str, float]) -> str:
    """The markdown report: what was measured where, then the projections, clearly apart."""
    tables = rows_for(measured, gpu[1], meta.get("cores") or os.cpu_count() or 1)
    lines = [
        "# Paper presets at their real size: step time, memory, projections", "",
        f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ",
        f"Machine: {meta['machine']}  ", f"Software: {meta['software']}  ",
        f"Load: {meta['load']}" + (f". {meta['note']}" if meta.get("note") else ""), "",
        "## Measured on this CPU", "",
        "One random CIFAR-shaped batch; each preset in its own process (peak RSS is that process's "
        "`ru_maxrss`). The warm-up step includes tracing (and, for LAS-AT, step 0's strategy update). "
        "Wall time is what the step took beside the other jobs; CPU time is what the process's "
        "threads used, which the other jobs inflate far less. GFLOP per CPU-second is the step's "
        "counted FLOPs over its CPU time: presets that differ much there are where the pass count "
        "below is off.", "",
        markdown_table(MEASURED_HEADERS, tables["measured"]), "",
        *[f"* {note}" for note in rate_notes(measured)], *([""] if rate_notes(measured) else []),
        "## Projected on this CPU, cores free (from the measured CPU time)", "",
        "Steps per epoch: one pass over the training split without the held-out validation images, "
        "the last partial batch dropped (49,000 // 128 = 382 on CIFAR-10). Validation: PGD on the "
        "held-out images every epoch, scaled from the step by FLOPs. A step is its CPU time divided "
        "by the cores: this machine with nothing else running, if TensorFlow kept every core busy "
        "(a lower bound). The last column projects the measured wall time instead, with the other "
        "jobs. A step measured at a smaller batch is scaled linearly to the recipe's. The final "
        "test evaluation is not included.", "",
        markdown_table(CPU_HEADERS, tables["cpu"]), "",
        "## GPU PROJECTIONS (computed from FLOPs, not measured)", "",
        f"**Assumption**: {GPU_ASSUMPTION.format(gpu=gpu[0], tflops=gpu[1])}", "",
        "Forward FLOPs: TensorFlow's profiler on the frozen inference forward of one image (the "
        "ASE heads included, a multiply-add counted as 2). Passes per image: forward equivalents "
        f"of a training step as `bench/paper_presets.py` counts them (an attack step "
        f"{ATTACK_STEP:g}, a pass inside the gradient tape {TAPE_PASS:g}, the accuracies' two "
        "forwards; `net`: the method's other network). LAS-AT's count takes its attack at the "
        f"most iterations it can pick ({LAS_NOTE}), an upper bound.", "",
        markdown_table(GPU_HEADERS, tables["gpu"]),
    ]
    done = {m.preset for m in measured}
    missing = {name: "the measurement was stopped before it (time budget)"
               for name in meta.get("requested", []) if name not in done and name not in failed}
    if failed or missing:
        lines += ["", "## Not measured", ""]
        lines += [f"* {name}: {why}" for name, why in {**failed, **missing}.items()]
    return "\n".join(lines) + "\n"


# --- the worker: one preset in one process ------------------------------------------------------


def forward_flops(fn, image_shape: tuple[int, ...]) -> int:
    """FLOPs of ``fn`` on one image, by TensorFlow's profiler on its frozen graph."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    concrete = tf.function(fn).get_concrete_function(tf.TensorSpec((1, *image_shape), tf.float32))
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(frozen.graph, options=options).total_float_ops)


def measure(preset: str, batch: int, steps: int, single_step_after: float) -> dict:
    """Builds the preset's model and times its train step at ``batch`` (see the module doc)."""
    import resource

    import keras
    import numpy as np
    import tensorflow as tf

    from again_tf.data import dataset_info
    from again_tf.engine import build_model, compile_model

    keras.utils.set_random_seed(0)
    config = get_preset(preset)
    recipe = recipe_of(preset, batch)
    info = dataset_info(config.data.dataset)
    model = compile_model(build_model(config, info), config, steps_per_epoch=recipe.steps_per_epoch)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch, *info.image_shape)).astype(np.float32)
    y = rng.integers(0, info.num_classes, batch).astype(np.int32)

    def timed() -> tuple[float, float]:
        """Wall and process CPU seconds of one step."""
        wall, cpu = time.perf_counter(), time.process_time()
        model.train_on_batch(x, y)
        return time.perf_counter() - wall, time.process_time() - cpu

    warmup = timed()[0]
    times = [timed() for _ in range(1 if warmup > single_step_after else steps)]
    update = (None, None)
    if recipe.base == "las_at":  # the next multiple of the interval: a strategy-update step
        interval = recipe.las_interval
        model.optimizer.iterations.assign((int(model.optimizer.iterations) // interval + 1) * interval)
        update = timed()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    inference = lambda images: model(images, training=False)
    networks = list(model.networks.values())
    network_flops = forward_flops(lambda images: networks[0](images, training=False), info.image_shape) \
        if networks else 0
    return {"preset": preset, "batch": batch, "warmup": warmup, "steps": [t[0] for t in times],
            "cpu_steps": [t[1] for t in times], "update_step": update[0], "cpu_update": update[1],
            "peak_rss_mb": peak, "params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            "model_flops": forward_flops(inference, info.image_shape), "network_flops": network_flops,
            "software": f"TensorFlow {tf.__version__}, Keras {keras.__version__}"}


def run_worker(preset: str, batch: int, args) -> tuple[dict | None, str]:
    """``measure`` in a fresh interpreter; ``(result, error)``."""
    command = [sys.executable, "-m", "bench.paper_presets", "--worker", preset, "--batch", str(batch),
               "--steps", str(args.steps), "--single-step-after", str(args.single_step_after)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):]), ""
    if done.returncode < 0:
        cause = f"killed by {signal.Signals(-done.returncode).name}"
        cause += " (the kernel's out-of-memory killer sends it)" if done.returncode == -signal.SIGKILL else ""
    else:
        cause = f"exit {done.returncode}"
    tail = " ".join(done.stderr.strip().splitlines()[-3:])[-400:]
    return None, (f"worker {cause}: {tail}. Rerun it alone with `--presets {preset}`, or at a smaller "
                  f"batch (`--presets {preset}:32`) if memory ran out.")


# --- the command -------------------------------------------------------------------------------------


def machine() -> str:
    """CPU model, cores and memory, from /proc on Linux."""
    model, memory = platform.processor() or "unknown CPU", ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                     if line.startswith("model name"))
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        memory = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} CPU cores{memory}, no GPU"


def parse_presets(text: str, batch: int) -> list[tuple[str, int]]:
    """``name[:batch],...`` -> ``[(name, batch)]``; a name without a batch gets ``batch``."""
    pairs = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        name, _, size = item.partition(":")
        if name not in PRESETS:
            raise SystemExit(f"--presets: unknown {name!r}; allowed: {', '.join(sorted(PRESETS))}.")
        if size and not (size.isdigit() and int(size) >= 1):
            raise SystemExit(f"--presets: {item!r} has batch {size!r}; write name:BATCH with BATCH >= 1.")
        pairs.append((name, int(size) if size else batch))
    if not pairs:
        raise SystemExit("--presets: empty list; name at least one preset (e.g. paper-resnet18).")
    return pairs


def measure_all(presets: list[tuple[str, int]], args, given: list[str]) -> dict:
    """Every preset in its own worker; the raw results (written to ``--raw`` after each preset,
    so that a long run's finished presets survive an interruption)."""
    loads, started = [os.getloadavg()[0]], time.perf_counter()
    raw: dict = {"meta": {"command": shlex.join(["python", "-m", "bench.paper_presets", *given]),
                          "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                          "machine": machine(), "cores": os.cpu_count(), "software": "unknown",
                          "note": args.note, "requested": [name for name, _ in presets]},
                 "measured": [], "failed": {}}
    for preset, batch in presets:
        start = time.perf_counter()
        result, error = run_worker(preset, batch, args)
        elapsed = time.perf_counter() - start
        print(f"{preset}: {error or 'done'} ({elapsed:.0f} s)", file=sys.stderr, flush=True)
        if result is None:
            raw["failed"][preset] = error
        else:
            raw["meta"]["software"] = result.pop("software")
            raw["measured"].append(result)
        loads.append(os.getloadavg()[0])
        raw["meta"]["load"] = (f"1-min load average {min(loads):.1f} to {max(loads):.1f} (at the start and "
                               f"after each preset) on {os.cpu_count()} cores; the measurement took "
                               f"{format_duration(time.perf_counter() - started)}")
        if args.raw:
            args.raw.write_text(json.dumps(raw, indent=1))
    return raw


def merge_raw(raws: list[dict]) -> dict:
    """Several measurements as one report: their rows in order, their commands, dates and loads
    side by side (the machine and software of the first)."""
    if len(raws) == 1:
        return raws[0]
    metas = [raw["meta"] for raw in raws]
    meta = {**metas[0], **{key: "; ".join(dict.fromkeys(m.get(key, "") for m in metas if m.get(key)))
                          for key in ("date", "load", "note")}}
    meta["command"] = "`; `".join(m["command"] for m in metas)  # each in its own code span
    meta["requested"] = list(dict.fromkeys(name for m in metas for name in m.get("requested", [])))
    measured = [result for raw in raws for result in raw["measured"]]
    done = {result["preset"] for result in measured}
    failed = {name: why for raw in raws for name, why in raw["failed"].items() if name not in done}
    return {"meta": meta, "measured": measured, "failed": failed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=",".join(p for p in PRESETS if p.startswith("paper-")))
    parser.add_argument("--batch", type=int, default=128, help="the presets' own batch: 128")
    parser.add_argument("--steps", type=int, default=3, help="timed steps after the warm-up (median)")
    parser.add_argument("--single-step-after", type=float, default=180.0,
                        help="time one step only when the warm-up step took longer (s)")
    parser.add_argument("--gpu-name", default=DEFAULT_GPU[0])
    parser.add_argument("--gpu-tflops", type=float, default=DEFAULT_GPU[1],
                        help="assumed sustained TFLOP/s of the GPU projection")
    parser.add_argument("--note", default="", help="a line about the conditions, e.g. other jobs")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument("--raw", type=Path, help="write the raw measurements (JSON) here")
    parser.add_argument("--from-raw", type=Path, nargs="+",
                        help="render --raw files again (merged) instead of measuring")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch < 1 or args.steps < 1 or args.gpu_tflops <= 0:
        raise SystemExit("--batch and --steps must be >= 1 and --gpu-tflops > 0.")
    if args.worker:
        result = measure(args.worker, args.batch, args.steps, args.single_step_after)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return 0
    if args.from_raw:
        missing = [str(path) for path in args.from_raw if not path.is_file()]
        if missing:
            raise SystemExit(f"--from-raw: no file {', '.join(missing)}; give --raw files of measurements.")
        raw = merge_raw([json.loads(path.read_text()) for path in args.from_raw])
    else:
        given = sys.argv[1:] if argv is None else argv
        raw = measure_all(parse_presets(args.presets, args.batch), args, given)
    measured = [Measured(**result) for result in raw["measured"]]
    report = render(measured, raw["failed"], raw["meta"], (args.gpu_name, args.gpu_tflops))
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 1 if raw["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
