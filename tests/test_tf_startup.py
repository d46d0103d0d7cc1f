"""TensorFlow's start-up log follows TF_CPP_MIN_LOG_LEVEL (default 2), a level the user set is kept."""

import os
import subprocess
import sys
from pathlib import Path

from again_tf.tf_startup import kept_lines, log_level

ROOT = Path(__file__).resolve().parents[1]
STARTUP = (
    "a line of our own\n"
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796353517.528595    5478 port.cc:153] oneDNN custom operations are on.\n"
    "I0000 00:00:1796353517.566145    5478 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n"
    "W0000 00:00:1796353517.600000    5478 gpu_device.cc:2] Cannot dlopen some GPU libraries.\n"
    "E0000 00:00:1796353517.700000    5478 cuda_platform.cc:52] failed call to cuInit: 303\n"
    "E0000 00:00:1796353517.800000    5478 some_op.cc:7] a real error\n"
)


def test_each_level_drops_the_records_below_it_with_their_continuation_lines():
    lines = {level: kept_lines(STARTUP, level).splitlines() for level in range(4)}
    assert lines[0] == STARTUP.splitlines()
    assert [line[:5] for line in lines[1]] == ["a lin", "W0000", "E0000", "E0000"]
    assert lines[2] == ["a line of our own", lines[0][-1]]  # no GPU driver: not an error worth a line
    assert lines[3] == ["a line of our own"]


def test_the_default_level_is_2_and_a_level_the_user_set_is_kept(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert log_level() == 2 and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert log_level() == 0 and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_importing_tensorflow_through_it_prints_no_startup_lines():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("from again_tf.tf_startup import import_tensorflow; import_tensorflow(); "
            "import tensorflow as tf; tf.config.list_logical_devices(); tf.constant(1.0) + 1")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
