"""PreemptionCheckpoint's SIGTERM handler: held across the two fits of a resumed run."""

import os
import signal

from again_tf.callbacks.preemption import PreemptionCheckpoint


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
