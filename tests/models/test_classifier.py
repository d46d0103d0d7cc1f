"""The classifier's training-mode forward pass: with a leak-free mask source, the labels cannot
reach the main head (nor the auxiliary heads); with the paper's mask they do."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf import randomness
from again_tf.data import dataset_info
from again_tf.engine import build_model
from tests.engine.helpers import fashion, tiny_config

INFO = dataset_info("fashion_mnist")


def _training_outputs(model, x, y):
    with randomness.step_seed(tf.constant([5, 11], tf.int64)):
        out = model.forward(x, y, training=True)
    return [out.logits.numpy(), *[a.numpy() for a in out.aux_logits]]


@pytest.mark.parametrize("source,leaks", [("label", True), ("prediction", False), ("soft", False)])
def test_permuted_labels_change_the_training_outputs_only_with_the_label_mask(source, leaks):
    model = build_model(tiny_config(**{"again.mask_source": source}), INFO)
    x, y, _, _ = fashion(32, 1)
    x, y = tf.constant(x), tf.constant(y)
    before = _training_outputs(model, x, y)
    after = _training_outputs(model, x, tf.roll(y, 1, axis=0))
    same = [np.array_equal(a, b) for a, b in zip(before, after)]
    assert same[0] == (not leaks)  # the main logits
    assert leaks or all(same)  # (the first site's head reads features no mask has touched yet)
