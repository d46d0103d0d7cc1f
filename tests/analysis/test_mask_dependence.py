import numpy as np
import pytest
import tensorflow as tf

from again_tf.analysis.mask_dependence import mask_dependence, wrong_labels
from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model
from tests.engine.helpers import fashion, tiny_config


def test_wrong_labels_differ_from_the_true_ones_and_cover_the_other_classes():
    y = np.repeat(np.arange(10), 200)
    fake = wrong_labels(y, 10)
    assert not np.any(fake == y)
    assert all(set(fake[y == k]) == set(range(10)) - {k} for k in range(10))


def _trained(method: str, steps: int):
    config = tiny_config(method, **{"data.batch_size": "64", "optim.lr_milestones": ""})
    model = compile_model(build_model(config, dataset_info("fashion_mnist")), config, steps)
    x, y, xt, yt = fashion(64 * steps, 256)
    if steps:
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(64), epochs=1, verbose=0)
    return model, xt, yt


@pytest.mark.slow
def test_an_again_model_learns_to_read_the_label_off_its_mask_and_is_left_unchanged():
    """60 steps of AGAIN-PGD-AT on Fashion-MNIST suffice for the main head to predict the mask's
    label, whatever the image (measured: 100%); an untrained model is at chance (~10%)."""
    untrained = mask_dependence(*_trained("again_pgd_at", 0))
    assert untrained.follows_mask < 0.3
    model, x, y = _trained("again_pgd_at", 60)
    before = [v.numpy().copy() for v in model.variables]
    found = mask_dependence(model, x, y)
    assert found.follows_mask > 0.9 and found.true_under_wrong_mask < 0.05, found
    assert min(found.agreement) > 0.95 and min(found.agreement_on_errors) > 0.95, found
    for old, variable in zip(before, model.variables):
        np.testing.assert_array_equal(old, variable.numpy())
    assert mask_dependence(model, x, y) == found  # the training-mode draws are seeded


def test_a_model_without_ase_is_refused():
    model, x, y = _trained("pgd_at", 0)
    with pytest.raises(ValueError, match="no ASE site"):
        mask_dependence(model, x, y)
