"""Preemption-safe training state: model, optimizer (step counter, momentum, lr schedule
position) written every N steps and at each epoch end, atomically, and on SIGTERM.

Each save writes ``state-<step>.weights.h5`` completely, then replaces ``state.json`` (which names
it) with one atomic rename, then deletes the older weights: a kill at any moment leaves a
``state.json`` that points to a complete file. Training randomness is keyed by the step
(``again_tf.randomness``) and the data pipeline skips the batches already seen, so the state
needs nothing else to continue exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path

import keras

from again_tf.errors import ConfigError

STATE = "state.json"


class Preempted(Exception):
    """Not an error: SIGTERM asked the run to save and stop."""


def _step(model) -> int:
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def save_state(model, folder: Path, step: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"state-{step}.weights.h5"
    model.save_weights(str(weights))
    tmp = folder / f"{STATE}.tmp"
    tmp.write_text(json.dumps({"step": step, "weights": weights.name}) + "\n")
    os.replace(tmp, folder / STATE)
    for old in folder.glob("state-*.weights.h5"):
        if old != weights:
            old.unlink()


def saved_step(folder: Path) -> int | None:
    """The step of the last complete save in ``folder``, or None."""
    path = folder / STATE
    return json.loads(path.read_text())["step"] if path.is_file() else None


def restore_state(model, folder: Path) -> int:
    """Loads the last save into a compiled model (building its optimizer first); returns its step."""
    state = json.loads((folder / STATE).read_text())
    model.optimizer.build(model.trainable_variables)
    model.load_weights(str(folder / state["weights"]))
    step = _step(model)
    if step != state["step"]:
        raise ConfigError(f"{folder}: {state['weights']} holds step {step} but {STATE} says {state['step']}, "
                          f"so the run cannot continue exactly; put back the weights file {STATE} "
                          "names, or train under another --name (this folder is left as it is).")
    return step


class PreemptionCheckpoint(keras.callbacks.Callback):
    """Saves every ``every_steps`` steps (0: epoch ends only) and at epoch ends; on SIGTERM it
    saves after the current step and raises ``Preempted`` (no partial-epoch logs are written).
    Put it last, so that an epoch's CSV row and checkpoints exist before its state does."""

    def __init__(self, folder: Path, every_steps: int = 0):
        super().__init__()
        self.folder, self.every_steps = Path(folder), int(every_steps)
        self._terminate = False
        self._previous = None
        self._held = False

    @contextlib.contextmanager
    def across_fits(self):
        """Keeps the SIGTERM handler between several ``fit`` calls (a resumed partial epoch, then
        the other epochs): a SIGTERM between them is honoured at the next step, not fatal."""
        self._install()
        self._held = True
        try:
            yield self
        finally:
            self._held = False
            self._restore()

    def on_train_begin(self, logs=None):
        if not self._held:
            self._install()

    def _install(self):
        if self._previous is None and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

    def _on_sigterm(self, signum, frame):
        self._terminate = True

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        if self._terminate:
            save_state(self.model, self.folder, step)
            self.on_train_end()
            raise Preempted(f"SIGTERM: saved the training state at step {step} in {self.folder}; "
                            f"run the same command again to continue.")
        if self.every_steps and step % self.every_steps == 0:
            save_state(self.model, self.folder, step)

    def on_epoch_end(self, epoch, logs=None):
        save_state(self.model, self.folder, _step(self.model))

    def on_train_end(self, logs=None):
        if not self._held:
            self._restore()
