"""Preemption: a run killed mid-epoch (SIGKILL) or stopped (SIGTERM) and restarted with the same
command ends with the same weights, bit for bit, as the run that was never interrupted."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.training.helpers import TINY
from training.train import PREEMPTED_EXIT, main

ROOT = Path(__file__).resolve().parents[2]
# AGAIN-AWP with the lr decay and the end of AWP's warm-up at step 6: the resumed part must
# restore the schedule's position and AWP's state, not only the weights.
ARGS = TINY + ["--deterministic", "--runtime.checkpoint_every", "2", "--optim.steps_per_epoch", "6",
               "--attack.steps", "3", "--method", "again_awp", "--optim.lr_milestones", "1",
               "--objective.awp_warmup_epochs", "1"]
LAST_STEP = 12  # 2 epochs x 6 steps


def _command(root, name):
    return [sys.executable, "-m", "training.train", *ARGS, "--output-dir", str(root), "--name", name]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def _interrupt(root, name, sig, at_least):
    """Starts the run and sends ``sig`` once its saved state reaches ``at_least`` steps."""
    state = root / name / "checkpoints" / "state" / "state.json"
    process = subprocess.Popen(_command(root, name), cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    step = None
    while process.poll() is None:
        if state.is_file() and json.loads(state.read_text())["step"] >= at_least:
            step = json.loads(state.read_text())["step"]
            process.send_signal(sig)
            break
        time.sleep(0.005)
    _, err = process.communicate(timeout=300)
    return process.returncode, step, err


def _weights(root, name):
    model = keras.models.load_model(root / name / "checkpoints" / "last.keras", compile=False)
    return model.get_weights()


@pytest.mark.slow
def test_killed_and_terminated_runs_resume_to_the_uninterrupted_weights(tmp_path):
    assert main(ARGS + ["--output-dir", str(tmp_path), "--name", "full"]) == 0

    code, _, err = _interrupt(tmp_path, "cut", signal.SIGTERM, at_least=2)
    assert code == PREEMPTED_EXIT and "saved the training state at step" in err, err[-2000:]
    code, step, _ = _interrupt(tmp_path, "cut", signal.SIGKILL, at_least=8)  # resumes, then dies
    assert code == -signal.SIGKILL and step is not None and step < LAST_STEP, "finished before the kill"
    again = subprocess.run(_command(tmp_path, "cut"), cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"resumed at step {step}" in again.stdout

    for a, b in zip(_weights(tmp_path, "full"), _weights(tmp_path, "cut"), strict=True):
        np.testing.assert_array_equal(a, b)
    rows = list(csv.DictReader((tmp_path / "cut" / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1"], rows  # each epoch logged once
    assert [round(float(r["learning_rate"]), 6) for r in rows] == [0.1, 0.01]
    state = json.loads((tmp_path / "cut" / "checkpoints" / "state" / "state.json").read_text())
    assert state["step"] == LAST_STEP


@pytest.mark.slow
def test_a_finished_run_or_other_settings_are_not_resumed_by_accident(tmp_path, capsys):
    args = TINY + ["--output-dir", str(tmp_path), "--name", "r"]
    assert main(args) == 0
    assert main(args) == 2
    assert "holds a finished run; pick another --name" in capsys.readouterr().err
    (tmp_path / "r" / "final.json").unlink()
    assert main(args + ["--optim.lr", "0.5"]) == 2
    assert "holds a run with other settings (optim.lr)" in capsys.readouterr().err
