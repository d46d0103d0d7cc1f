"""Requests/s and p50/p99 latency of ``serving.local`` over loopback REST, per batch size.

    python -m bench.serving [--model-dir serving_models/again] [--batch-sizes 1,32]
                            [--requests 200] [--clients 1] [--signature serving_default]
    python -m bench.serving --url http://127.0.0.1:8501 --model again   # a server already running

Without ``--url`` it starts ``python -m serving.local`` in a subprocess on a free port, on
``--model-dir`` or, if none is given, on a fresh export of an untrained quickstart-preset model
(same graph and cost as a trained one). Each request goes through ``serving.client.RestClient``
(urllib, a new connection per request), ``--clients`` threads at a time; images are random
Fashion-MNIST-sized pixels (PNG-encoded for ``predict_images_bytes``). Warm-up requests are not
timed; ``gc.freeze()`` runs before timing so the client's collector does not rescan the objects
the imports left (TensorFlow's, with the bytes signature).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from serving.client import BYTES_SIGNATURE, SERVING_DEFAULT, RestClient

ROOT = Path(__file__).resolve().parents[1]


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


def start_server(model_dir: Path, max_batch: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen([sys.executable, "-m", "serving.local", str(model_dir), "--port", "0",
                                "--max-batch-size", str(max_batch)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    ready, _, _ = select.select([process.stdout], [], [], 120)
    match = re.search(r"on (http://\S+) \(REST\)", process.stdout.readline() if ready else "")
    if not match:
        process.kill()
        raise SystemExit("bench: serving.local did not start")
    return process, match[1]


def make_batch(batch: int, signature: str, rng: np.random.Generator):
    pixels = rng.integers(0, 256, size=(batch, 28, 28, 1), dtype=np.uint8)
    if signature == SERVING_DEFAULT:
        return pixels.astype(np.float32) / 255.0
    import tensorflow as tf

    return [tf.io.encode_png(p).numpy() for p in pixels]


def measure(client: RestClient, batch: int, signature: str, requests: int, clients: int,
            warmup: int = 5) -> dict:
    """requests/s, images/s and latency percentiles (ms) of ``requests`` timed requests."""
    data = make_batch(batch, signature, np.random.default_rng(batch))
    gc.freeze()  # as serving.local does: long-lived objects out of the per-request GC scans
    send = client.predict_images if signature == SERVING_DEFAULT else client.predict_image_bytes

    def one(_):
        start = time.perf_counter()
        send(data)
        return time.perf_counter() - start

    for _ in range(warmup):
        one(None)
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = np.array(list(pool.map(one, range(requests))))
    elapsed = time.perf_counter() - start
    return {"batch": batch, "requests": requests, "requests_per_s": requests / elapsed,
            "images_per_s": requests * batch / elapsed, "p50_ms": 1e3 * np.percentile(latencies, 50),
            "p99_ms": 1e3 * np.percentile(latencies, 99)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, help="an exported model folder (default: export one)")
    parser.add_argument("--url", help="bench a server already running here instead of starting one")
    parser.add_argument("--model", default="again", help="model name in the URLs (with --url)")
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per batch size")
    parser.add_argument("--clients", type=int, default=1, help="concurrent client threads")
    parser.add_argument("--signature", default=SERVING_DEFAULT, choices=(SERVING_DEFAULT, BYTES_SIGNATURE))
    return parser.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    process, workdir = None, None
    url, name = args.url, args.model
    if url is None:
        workdir = tempfile.TemporaryDirectory()
        model_dir = args.model_dir or export_untrained(Path(workdir.name))
        process, url = start_server(model_dir, max(sizes))
        name = model_dir.name
    try:
        client = RestClient(url, name, timeout=60)
        rows = [measure(client, size, args.signature, args.requests, args.clients) for size in sizes]
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if workdir is not None:
            workdir.cleanup()
    print(f"serving.local at {url}, {args.signature}, {args.clients} client thread(s), REST over loopback")
    print(f"{'batch':>5} {'requests':>8} {'req/s':>8} {'images/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['batch']:>5} {r['requests']:>8} {r['requests_per_s']:>8.1f} {r['images_per_s']:>9.1f} "
              f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    return rows


if __name__ == "__main__":
    main()
