"""Every CLI checks its path arguments before importing TensorFlow: a typo fails with one line
naming the flag, and neither TensorFlow nor Keras is imported (so it fails in a fraction of a
second, and nothing of TensorFlow's start-up log is printed). The import graph is checked, not the
wall clock, which a loaded machine would make flaky."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Runs the CLI's main() as ``python -m`` would, then says whether TensorFlow got imported.
PROBE = ("import runpy, sys\n"
         "sys.argv = sys.argv[1:]\n"
         "try:\n"
         "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
         "except SystemExit as stop:\n"
         "    heavy = sorted(m for m in ('tensorflow', 'keras', 'tensorflow_datasets') if m in sys.modules)\n"
         "    print('exit', stop.code, heavy)\n")


@pytest.mark.parametrize("module,args,message", [
    ("training.train", ["--data-dir", "/no/such/dir"], "error: data.data_dir (--data-dir): no folder at "
                                                       "/no/such/dir"),
    ("training.train", ["--config", "/no/such.json"], "error: --config: no file at /no/such.json"),
    ("training.tune", ["--data.source", "folder", "--data-dir", "/no"], "error: data.data_dir (--data-dir)"),
    ("training.tune", ["--tuner", "grid"], "error: --tuner: got 'grid'; allowed: hyperband, bayesian"),
    ("training.evaluate", ["/no/such/run"], "error: model: nothing at /no/such/run; pass a run folder"),
    ("training.evaluate", [str(ROOT), "--data-dir", "/nope"], "error: --data-dir: no folder at /nope"),
    ("training.analyze", ["gap", "/no/such/run"], "error: RUN: nothing at /no/such/run; pass run folders"),
    ("serving.export", ["/no/such/run"], "error: source: nothing at /no/such/run; pass a training run"),
    ("serving.local", ["/no/such/models"], "error: /no/such/models: no <version>/saved_model.pb inside"),
])
def test_a_bad_path_fails_fast_without_importing_tensorflow(module, args, message):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    done = subprocess.run([sys.executable, "-c", PROBE, module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "exit 2 []", (done.stdout, done.stderr[-2000:])
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
