"""A few hundred steps of AGAIN-PGD-AT on real Fashion-MNIST learn robust features."""

import numpy as np
import pytest

from again_tf.attacks import pgd


@pytest.mark.slow
def test_again_pgd_at_raises_pgd_accuracy_well_above_chance(trained_again):
    """The shared model (tests/conftest.py): 256 steps of 32 images."""
    model, xt, yt = trained_again.model, trained_again.x, trained_again.y
    x_adv = pgd(lambda z: model(z, training=False), xt, yt, eps=0.1, step_size=0.01, steps=20)
    robust = float(np.mean(np.argmax(model(x_adv, training=False), -1) == yt))
    clean = float(np.mean(np.argmax(model(xt, training=False), -1) == yt))
    assert len(yt) == 500 and trained_again.loss < 6.0
    assert clean > 0.6 and robust > 0.4, (clean, robust)  # chance is 0.1
