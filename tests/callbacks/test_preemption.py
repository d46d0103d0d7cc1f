"""PreemptionCheckpoint's SIGTERM handler, held across the two fits of a resumed run, and the
saved state's consistency check."""

import json
import os
import signal

import keras
import numpy as np
import pytest

from again_tf.callbacks.preemption import STATE, PreemptionCheckpoint, restore_state, save_state, saved_step
from again_tf.errors import ConfigError


def test_a_sigterm_between_two_fits_is_caught_and_the_old_handler_comes_back(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    callback = PreemptionCheckpoint(tmp_path)
    with callback.across_fits():
        callback.on_train_begin()
        callback.on_train_end()  # the partial first epoch's fit ends
        assert signal.getsignal(signal.SIGTERM) == callback._on_sigterm
        os.kill(os.getpid(), signal.SIGTERM)  # between the fits: flagged, not fatal
        assert callback._terminate
    assert signal.getsignal(signal.SIGTERM) == previous


def test_a_single_fit_installs_and_restores_the_handler(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    callback = PreemptionCheckpoint(tmp_path)
    callback.on_train_begin()
    assert signal.getsignal(signal.SIGTERM) == callback._on_sigterm
    callback.on_train_end()
    assert signal.getsignal(signal.SIGTERM) == previous


def _compiled_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, batch_size=2, verbose=0)  # step 2
    return model


def test_a_state_that_names_another_step_is_refused_with_the_fix_and_nothing_is_deleted(tmp_path):
    model = _compiled_model()
    save_state(model, tmp_path, 2)
    assert saved_step(tmp_path) == 2 and restore_state(_compiled_model(), tmp_path) == 2
    (tmp_path / STATE).write_text(json.dumps({"step": 5, "weights": "state-2.weights.h5"}))
    with pytest.raises(ConfigError, match="another --name"):
        restore_state(_compiled_model(), tmp_path)
    assert (tmp_path / "state-2.weights.h5").is_file()
