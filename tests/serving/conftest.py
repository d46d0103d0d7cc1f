"""The shared tiny quickstart run (tests/conftest.py) exported once for every serving test, and
``python -m serving.local`` serving it in a subprocess (REST and gRPC on free ports)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import pytest

import again_tf.engine  # noqa: F401  (registers the classes for load_model)
from serving.export_model import export_model

ROOT = Path(__file__).resolve().parents[2]
MAX_BATCH = 64  # serving.local's limit in these tests (the export's default is 128)


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
         "--max-batch-size", str(MAX_BATCH)],
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
