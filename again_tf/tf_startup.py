"""TensorFlow's import without its C++ start-up log, for the command-line tools.

TensorFlow logs through absl before it reads ``TF_CPP_MIN_LOG_LEVEL``, so the oneDNN, CUDA-stub
and CPU-feature lines reach stderr whatever the level (absl: "All log messages before
absl::InitializeLog() is called are written to STDERR"). ``import_tensorflow`` applies the level
to those lines too: it imports TensorFlow with stderr caught at the file-descriptor level and
writes back every line the level lets through. The level defaults to 2 (errors only); a level
the user set is kept. Imports nothing heavy itself, so a CLI can check its arguments first.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
DEFAULT_LEVEL = "2"
SEVERITIES = "IWEF"  # absl's info, warning, error, fatal: TF_CPP_MIN_LOG_LEVEL 1 drops I, 2 also W, ...
_RECORD = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ \S+:\d+\] ")  # I0000 00:00:1796.52 5478 port.cc:153]
_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# An error record that only says the machine has no GPU driver (a CUDA build of TensorFlow on a
# CPU machine): start-up noise at the default level, shown at levels 0 and 1.
_NO_GPU_DRIVER = "failed call to cuInit"


def log_level() -> int:
    """The effective TF_CPP_MIN_LOG_LEVEL after setting the default (0 for an unreadable value)."""
    os.environ.setdefault(LEVEL_VARIABLE, DEFAULT_LEVEL)
    try:
        return int(os.environ[LEVEL_VARIABLE])
    except ValueError:
        return 0


def kept_lines(text: str, level: int) -> str:
    """``text`` without the absl records below ``level`` and their continuation lines (every
    line up to the next record or the preamble)."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        record = _RECORD.match(line)
        if record:
            severity = SEVERITIES.index(record.group(1))
            dropping = severity < level or (level >= 2 and _NO_GPU_DRIVER in line)
        elif line.rstrip("\n") == _PREAMBLE:
            dropping = level > 0
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def stderr_filtered(level: int) -> Iterator[None]:
    """Catches file descriptor 2 (C++ and Python writes alike) and writes back the kept lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            sys.stderr.write(kept_lines(caught.read().decode(errors="replace"), level))
            sys.stderr.flush()


def import_tensorflow() -> None:
    """Imports TensorFlow (and Keras) once and lists its devices (when the CUDA start-up lines
    come), the start-up log filtered to the level."""
    level = log_level()
    if "tensorflow" in sys.modules:
        return
    with stderr_filtered(level) if level else contextlib.nullcontext():
        import keras  # noqa: F401
        import tensorflow

        tensorflow.config.list_physical_devices()
