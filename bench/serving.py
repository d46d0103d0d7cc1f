"""Throughput and latency of ``serving.local`` over loopback REST, against the SavedModel called
in process, measured in the same run.

    python -m bench.serving [--model-dir serving_models/again] [--batch-sizes 8,32]
                            [--concurrency 1,8,32] [--keep-alive on,off] [--duration 60]
                            [--requests 100000] [--signature serving_default]
    python -m bench.serving --url http://127.0.0.1:8501 --model again   # a server already running

Without ``--url`` it starts ``python -m serving.local`` in a subprocess on a free port, on
``--model-dir`` or, if none is given, on a fresh export of an untrained quickstart-preset model
(same graph and cost as a trained one). First it calls the signature in this process (the
baseline: ``tf.constant`` in, ``.numpy()`` out, one call at a time, ``--duration`` seconds per
batch size, the server idle); then, per batch size, concurrency and keep-alive setting, it sends
the same pre-encoded request from bench.http_load's clients for ``--duration`` seconds (or
``--requests``). Images are random Fashion-MNIST-sized pixels (PNG files for
``predict_images_bytes``). Every run is bounded in time and stops the server it started.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.http_load import LoadResult, run_load
from serving.client import BYTES_SIGNATURE, SERVING_DEFAULT

ROOT = Path(__file__).resolve().parents[1]
INPUTS = {SERVING_DEFAULT: "images", BYTES_SIGNATURE: "image_bytes"}


def export_untrained(base: Path) -> Path:
    """An untrained quickstart model exported under ``base``; returns its model folder."""
    import keras

    from again_tf.config import get_preset
    from again_tf.data import dataset_info
    from again_tf.engine import build_model
    from serving.export_model import export_model

    keras.utils.set_random_seed(0)
    info = dataset_info("fashion_mnist")
    checkpoint = base / "untrained.keras"
    build_model(get_preset("quickstart"), info).save(checkpoint)
    return export_model(checkpoint, base / "models", dataset="fashion_mnist").version_dir.parent


def start_server(model_dir: Path, max_batch: int, extra: list[str] = ()) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen([sys.executable, "-m", "serving.local", str(model_dir), "--port", "0",
                                "--max-batch-size", str(max_batch), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    ready, _, _ = select.select([process.stdout], [], [], 120)
    match = re.search(r"on (http://\S+) \(REST\)", process.stdout.readline() if ready else "")
    if not match:
        process.kill()
        raise SystemExit("bench: serving.local did not start")
    return process, match[1]


def make_batch(batch: int, signature: str, seed: int = 0):
    """Pixels in [0, 1] (float32), or PNG files for the bytes signature."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(batch, 28, 28, 1), dtype=np.uint8)
    if signature == SERVING_DEFAULT:
        return pixels.astype(np.float32) / 255.0
    import tensorflow as tf

    return [tf.io.encode_png(p).numpy() for p in pixels]


def request_body(data, signature: str) -> bytes:
    """The JSON a client sends (row format), encoded once: floats as Python writes them."""
    if signature == SERVING_DEFAULT:
        instances = data.tolist()
    else:
        instances = [{"b64": base64.b64encode(d).decode("ascii")} for d in data]
    return json.dumps({"signature_name": signature, "instances": instances}).encode()


class InProcess:
    """The signature called in this process, one call at a time: the baseline."""

    def __init__(self, model_dir: Path, signature: str):
        import tensorflow as tf

        from serving.versions import find_version

        self.tf, self.signature = tf, signature
        self.function = tf.saved_model.load(str(find_version(model_dir).path)).signatures[signature]

    def run(self, batch: int, seconds: float) -> tuple[int, float, float]:
        """(images, wall seconds, CPU seconds of this process) of calls for ``seconds``."""
        feed = {INPUTS[self.signature]: make_batch(batch, self.signature)}
        call = lambda: {k: v.numpy() for k, v in self.function(**{k: self.tf.constant(v) for k, v in
                                                                      feed.items()}).items()}
        call()
        images, cpu, start = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            call()
            images += batch
        return images, time.perf_counter() - start, time.process_time() - cpu


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 if unknown."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def merge(total: LoadResult | None, part: LoadResult) -> LoadResult:
    if total is None:
        return part
    total.elapsed += part.elapsed
    total.latencies += part.latencies
    total.errors.update(part.errors)
    return total


def measure(args: argparse.Namespace, url: str, path: str, batch: int, concurrency: int, keep: bool,
            baseline: InProcess | None, server_pid: int | None) -> dict:
    """One setting: ``--rounds`` alternations of a load slice and a baseline slice as long, so
    both see the same background load; requests/s, images/s, latency, errors, CPU per image."""
    body = request_body(make_batch(batch, args.signature), args.signature)
    run_load(url, "POST", path, body, concurrency, keep, min(concurrency, 8), 60, timeout=60)  # warm-up
    result, base, server_cpu = None, [0, 0.0, 0.0], 0.0
    for _ in range(args.rounds):
        cpu = process_cpu(server_pid)
        left = args.requests - (result.ok + sum(result.errors.values()) if result else 0)
        part = run_load(url, "POST", path, body, concurrency, keep, max(left, 0), args.duration / args.rounds,
                        timeout=60)
        server_cpu += process_cpu(server_pid) - cpu
        result = merge(result, part)
        if baseline is not None:
            base = [a + b for a, b in zip(base, baseline.run(batch, part.elapsed))]
    images = result.ok * batch
    in_process = base[0] / base[1] if base[1] else None
    return {"batch": batch, "concurrency": concurrency, "keep_alive": keep, "requests": result.ok,
            "errors": sum(result.errors.values()), "error_kinds": dict(result.errors),
            "requests_per_s": result.requests_per_s, "images_per_s": result.requests_per_s * batch,
            "in_process_images_per_s": in_process,
            "of_in_process": result.requests_per_s * batch / in_process if in_process else None,
            "server_cpu_ms_per_image": 1e3 * server_cpu / images if images and server_pid else None,
            "in_process_cpu_ms_per_image": 1e3 * base[2] / base[0] if base[0] else None,
            **{f"p{q}_ms": result.percentile_ms(q) for q in (50, 95, 99)}}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, help="an exported model folder (default: export one)")
    parser.add_argument("--url", help="bench a server already running here instead of starting one")
    parser.add_argument("--model", default="again", help="model name in the URLs (with --url)")
    parser.add_argument("--batch-sizes", default="8,32")
    parser.add_argument("--concurrency", default="1,8,32", help="concurrent clients, one setting per value")
    parser.add_argument("--keep-alive", default="on,off", help="on, off or both (on,off)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds of load per setting (and as much again of baseline)")
    parser.add_argument("--rounds", type=int, default=4, help="baseline/load alternations per setting")
    parser.add_argument("--requests", type=int, default=100_000, help="most requests per setting")
    parser.add_argument("--signature", default=SERVING_DEFAULT, choices=(SERVING_DEFAULT, BYTES_SIGNATURE))
    parser.add_argument("--server-args", default="", help="extra serving.local flags, e.g. '--workers 3'")
    return parser.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    process, workdir, baseline = None, None, None
    url, name = args.url, args.model
    try:
        if url is None or args.model_dir:
            workdir = tempfile.TemporaryDirectory()
            model_dir = args.model_dir or export_untrained(Path(workdir.name))
            baseline = InProcess(model_dir, args.signature)
        if url is None:
            process, url = start_server(model_dir, max(sizes), args.server_args.split())
            name = model_dir.name
        settings = [(batch, int(clients), keep == "on") for batch in sizes
                    for clients in args.concurrency.split(",") for keep in args.keep_alive.split(",")]
        pid = process.pid if process else None
        path = f"/v1/models/{name}:predict"
        rows = [measure(args, url, path, *setting, baseline, pid) for setting in settings]
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if workdir is not None:
            workdir.cleanup()
    print_table(rows, url, args)
    return rows


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)


def print_table(rows: list[dict], url: str, args: argparse.Namespace) -> None:
    print(f"serving.local at {url}, {args.signature}, REST over loopback, {args.duration:g} s of load per "
          f"setting in {args.rounds} slices, each after a slice of in-process calls")
    print("| batch | clients | keep-alive | requests | errors | req/s | images/s | in-process images/s "
          "| of in-process | p50 ms | p95 ms | p99 ms | CPU ms/image server (in-process) |")
    print("| --- " * 13 + "|")
    for r in rows:
        share = _number(r["of_in_process"] and 100 * r["of_in_process"], ".0f")
        print(f"| {r['batch']} | {r['concurrency']} | {'on' if r['keep_alive'] else 'off'} | {r['requests']} "
              f"| {r['errors']} | {r['requests_per_s']:.1f} | {r['images_per_s']:.0f} "
              f"| {_number(r['in_process_images_per_s'], '.0f')} | {share}% "
              f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} "
              f"| {_number(r['server_cpu_ms_per_image'], '.3f')} "
              f"({_number(r['in_process_cpu_ms_per_image'], '.3f')}) |")


if __name__ == "__main__":
    main()
