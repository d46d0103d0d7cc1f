"""Transfer attacks past the argmax ASE masks: invariants on the shared trained AGAIN model, the
soft-mask surrogate against the deployed model, and the columns' worst case."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf.attacks.losses import cross_entropy
from again_tf.data import dataset_info
from again_tf.evaluation.transfer import WORST, head_attack, surrogate_attack, transfer_columns
from again_tf.run.transfer import soft_surrogate
from tests.engine.helpers import tiny_config

EPS = 0.1


def test_worst_is_the_minimum_of_the_columns_and_each_column_scores_the_deployed_model():
    logits = lambda x: tf.stack([tf.reduce_mean(x, axis=[1, 2, 3]), 0.5 * tf.ones(tf.shape(x)[:1])], -1)
    x = np.stack([np.full((2, 2, 1), v, np.float32) for v in (0.9, 0.2, 0.7)])
    y = np.array([0, 1, 0])  # class 0 wins where the mean pixel exceeds 0.5
    attacks = {"none": lambda a, b: a, "dark": lambda a, b: a * 0.0, "bright": lambda a, b: a * 0.0 + 1.0}
    columns = transfer_columns(logits, attacks, x, y)
    np.testing.assert_array_equal(columns["none"], [1, 1, 1])
    np.testing.assert_array_equal(columns["dark"], [0, 1, 0])
    np.testing.assert_array_equal(columns["bright"], [1, 0, 1])
    np.testing.assert_array_equal(columns[WORST], [0, 0, 0])


@pytest.fixture(scope="module")
def trained(trained_again):
    model = trained_again.model
    return model, tf.constant(trained_again.x[:64]), tf.constant(trained_again.y[:64])


@pytest.mark.slow
def test_head_attacks_stay_in_the_ball_climb_their_head_and_lower_accuracy(trained):
    model, x, y = trained
    deployed = lambda v: model.forward(v, training=False).logits
    attacks = {f"head{i}": head_attack(model.inference_fn(), i, eps=EPS, step_size=EPS / 4, steps=10)
               for i in range(2)}
    for site, attack in enumerate(attacks.values()):
        tf.random.set_seed(0)
        x_adv = attack(x, y)
        assert float(tf.reduce_max(tf.abs(x_adv - x))) <= EPS + 1e-6
        assert float(tf.reduce_min(x_adv)) >= 0.0 and float(tf.reduce_max(x_adv)) <= 1.0
        losses = [cross_entropy(model.forward(v, training=False).aux_logits[site], y) for v in (x, x_adv)]
        assert float(tf.reduce_mean(losses[1])) > float(tf.reduce_mean(losses[0]))
    clean = np.argmax(deployed(x), -1) == y.numpy()
    tf.random.set_seed(0)
    columns = transfer_columns(deployed, attacks, x, y)
    assert columns[WORST].mean() < clean.mean() - 0.1  # the site-1 head carries the decision


@pytest.mark.slow
def test_soft_surrogate_shares_the_weights_and_approaches_the_argmax_mask_as_t_falls(trained):
    model, x, _ = trained
    config, info = tiny_config(), dataset_info("fashion_mnist")
    deployed = model.forward(x, training=False).logits.numpy()
    cold = soft_surrogate(model, config, info, 1e-4).forward(x, training=False).logits.numpy()
    warm = soft_surrogate(model, config, info, 1.0).forward(x, training=False).logits.numpy()
    np.testing.assert_allclose(cold, deployed, atol=1e-4)
    assert np.abs(warm - deployed).max() > 1e-2  # at T = 1 the mask is a mixture, not one column


@pytest.mark.slow
def test_surrogate_attack_is_a_projected_transfer(trained):
    model, x, y = trained
    surrogate = soft_surrogate(model, tiny_config(), dataset_info("fashion_mnist"), 0.1)
    tf.random.set_seed(0)
    x_adv = surrogate_attack(surrogate.inference_fn(), 2.0, eps=EPS, step_size=EPS / 4, steps=10)(x, y)
    assert float(tf.reduce_max(tf.abs(x_adv - x))) <= EPS + 1e-6
    assert float(tf.reduce_min(x_adv)) >= 0.0 and float(tf.reduce_max(x_adv)) <= 1.0
    deployed = lambda v: model.forward(v, training=False).logits
    columns = transfer_columns(deployed, {"transfer": lambda a, b: x_adv}, x, y)
    assert columns["transfer"].mean() < (np.argmax(deployed(x), -1) == y.numpy()).mean()
