"""Transfer attacks past the argmax ASE masks: invariants on the shared trained AGAIN model, the
soft-mask surrogate against the deployed model, and the columns' worst case."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.attacks.losses import cross_entropy
from again_tf.attacks.pgd import PGDSettings
from again_tf.data import dataset_info
from again_tf.engine import soft_surrogates
from again_tf.evaluation import EvalSettings, keras_target, parse_attack
from again_tf.evaluation.transfer import (
    WORST,
    head_attack,
    past_mask_columns,
    surrogate_attack,
    transfer_columns,
)
from tests.engine.helpers import tiny_config

EPS = 0.1
ATTACK = PGDSettings(EPS, EPS / 4, 10)


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
    attacks = {f"head{i}": head_attack(model.inference_fn(), i, ATTACK)
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
    surrogates = dict(soft_surrogates(model, config, info, (1e-4, 1.0)))
    assert list(surrogates) == ["soft_T0.0001", "soft_T1"]
    cold, warm = (surrogates[name](x).logits.numpy() for name in surrogates)
    np.testing.assert_allclose(cold, deployed, atol=1e-4)
    assert np.abs(warm - deployed).max() > 1e-2  # at T = 1 the mask is a mixture, not one column


@pytest.mark.slow
def test_surrogate_attack_is_a_projected_transfer(trained):
    model, x, y = trained
    (_, surrogate_fn), = soft_surrogates(model, tiny_config(), dataset_info("fashion_mnist"), (0.1,))
    tf.random.set_seed(0)
    x_adv = surrogate_attack(surrogate_fn, 2.0, ATTACK)(x, y)
    assert float(tf.reduce_max(tf.abs(x_adv - x))) <= EPS + 1e-6
    assert float(tf.reduce_min(x_adv)) >= 0.0 and float(tf.reduce_max(x_adv)) <= 1.0
    deployed = lambda v: model.forward(v, training=False).logits
    columns = transfer_columns(deployed, {"transfer": lambda a, b: x_adv}, x, y)
    assert columns["transfer"].mean() < (np.argmax(deployed(x), -1) == y.numpy()).mean()


@pytest.mark.slow
def test_the_evaluation_column_is_the_worst_of_every_attack_past_the_masks(trained):
    model, x, y = trained
    surrogates = soft_surrogates(model, tiny_config(), dataset_info("fashion_mnist"), (1.0,))
    target = keras_target(model, (28, 28, 1), surrogates=surrogates)
    tf.random.set_seed(0)
    columns = past_mask_columns(target, parse_attack("transfer5"), EvalSettings(eps=EPS), x, y)
    assert sorted(columns) == ["transfer5", "transfer5:head1", "transfer5:head2", "transfer5:soft_T1"]
    parts = [v for k, v in columns.items() if ":" in k]
    np.testing.assert_array_equal(columns["transfer5"], np.minimum.reduce(parts))
    clean = np.argmax(target.logits(x), -1) == y.numpy()
    assert np.all(columns["transfer5"] <= clean) and columns["transfer5"].mean() < clean.mean()


def test_a_model_without_ase_heads_has_no_mask_to_get_past():
    plain = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    x, y = np.random.default_rng(0).random((8, 4, 4, 1), np.float32), np.arange(8) % 3
    target = keras_target(plain, (4, 4, 1))
    columns = past_mask_columns(target, parse_attack("transfer"), EvalSettings(eps=EPS), x, y)
    np.testing.assert_array_equal(columns["transfer"], np.argmax(plain(x), -1) == y)
    assert list(columns) == ["transfer"]
