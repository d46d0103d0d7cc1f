"""The shared tiny quickstart run (tests/conftest.py) exported once for every serving test,
``python -m serving.local`` serving it in a subprocess (REST and gRPC on free ports), and the
same servers started in this process with other limits (``serve_in_process``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import keras
import pytest

import again_tf.engine  # noqa: F401  (registers the classes for load_model)
from serving.export_model import export_model
from serving.limits import Limits
from serving.local import Running, start

ROOT = Path(__file__).resolve().parents[2]
MAX_BATCH = 64  # serving.local's limit in these tests (the export's default is 128)
# the subprocess's limits that the tests reach: short timeouts, few connections (defaults: 30 s, 60 s, 512)
TIMEOUT, MAX_CONNECTIONS = 3, 64


@pytest.fixture(scope="session")
def exported(tiny_run, tmp_path_factory):
    """The run folder (the shared run of tests/conftest.py), the export base and the Keras model
    that was exported (best_robust)."""
    run = tiny_run.dir
    base = tmp_path_factory.mktemp("serving_models")
    result = export_model(run, base)
    model = keras.models.load_model(run / "checkpoints" / "best_robust.keras", compile=False)
    return SimpleNamespace(run=run, base=base, model_dir=base / "again", result=result,
                           version_dir=result.version_dir, model=model)


@pytest.fixture(scope="session")
def local_server(exported, tmp_path_factory):
    """``url``, ``grpc_target`` and ``process`` of a serving.local subprocess."""
    log = (tmp_path_factory.mktemp("local") / "stderr.txt").open("w")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.local", str(exported.model_dir), "--port", "0", "--grpc-port", "0",
         "--max-batch-size", str(MAX_BATCH), "--idle-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT),
         "--max-connections", str(MAX_CONNECTIONS)],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT)
    ready, _, _ = select.select([process.stdout], [], [], 90)
    line = process.stdout.readline() if ready else ""
    match = re.search(r"on (http://\S+) \(REST\), (\S+) \(gRPC\)", line)
    if not match:
        process.kill()
        pytest.fail(f"serving.local did not start: {line!r}")
    yield SimpleNamespace(url=match[1], grpc_target=match[2], process=process)
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session")
def predictor_64(exported):
    """The export loaded in this process, max batch MAX_BATCH."""
    from serving.predictor import Predictor
    from serving.versions import find_version

    return Predictor(find_version(exported.model_dir), MAX_BATCH)


@contextlib.contextmanager
def serve_in_process(predictor, **limits):
    """serving.local's REST and gRPC servers on an event loop in a thread of this process, with
    ``Limits(**limits)``; stopped (connections closed) on exit."""
    loop, box, ready = asyncio.new_event_loop(), [], threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def begin() -> Running:
            return start(predictor, Limits(**limits), grpc_port=0)

        box.append(loop.run_until_complete(begin()))
        ready.set()
        loop.run_forever()
        box[0].stop()
        loop.run_until_complete(box[0].http.close_all_connections())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "the in-process server did not start"
    try:
        yield box[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
