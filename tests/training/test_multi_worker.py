"""Two worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy through TF_CONFIG) train like
two replicas in one process (MirroredStrategy over two logical CPUs) on the same global batches;
only the chief writes the run folder."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.training.helpers import TINY
from training.train import main

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _weights(run):
    return keras.models.load_model(run / "checkpoints" / "last.keras", compile=False).get_weights()


@pytest.mark.slow
def test_two_workers_match_two_local_replicas_and_only_the_chief_writes(tmp_path):
    args = TINY + ["--deterministic", "--epochs", "1", "--optim.steps_per_epoch", "3",
                   "--output-dir", str(tmp_path)]
    assert main(args + ["--name", "mirrored", "--strategy", "mirrored"]) == 0
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    command = [sys.executable, "-m", "training.train", *args, "--name", "workers",
               "--strategy", "multi_worker"]
    workers = []
    for index in range(2):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True))
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, out[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirrored", "workers"]
    for a, b in zip(_weights(tmp_path / "mirrored"), _weights(tmp_path / "workers"), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    rows = (tmp_path / "workers" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and json.loads((tmp_path / "workers" / "final.json").read_text())["eps"] == 0.1
