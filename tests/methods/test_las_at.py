"""LAS-AT as a method: sampled attacks stay in their sets; the strategy network learns by
REINFORCE every ``interval`` steps and only then; the reward's look-ahead step is taken back."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model
from again_tf.methods.las_at import sample_strategies
from tests.engine.helpers import fashion, tiny_config


def _model(**overrides):
    config = tiny_config("las_at", **overrides)
    model = build_model(config, dataset_info("fashion_mnist"))
    return compile_model(model, config, steps_per_epoch=4), config


def test_sampled_attacks_stay_in_their_sets():
    model, config = _model()
    x, y, _, _ = fashion(64, 1)
    picks, log_prob = sample_strategies(model.networks["strategy"], x, training=False)
    sizes = model.method.head_sizes
    assert all(0 <= int(tf.reduce_min(p)) and int(tf.reduce_max(p)) < n for p, n in zip(picks, sizes))
    assert np.all(log_prob.numpy() <= 0) and np.all(np.isfinite(log_prob.numpy()))
    x_adv = model.method.strategy_examples(model, tf.constant(x), tf.constant(y), picks)
    eps = np.asarray(config.objective.las_eps_scales)[picks[0].numpy()] * config.attack.eps
    gap = np.abs(x_adv.numpy() - x).max(axis=(1, 2, 3))
    assert np.all(gap <= eps + 1e-6) and np.all(gap > 0)


@pytest.mark.slow
def test_the_strategy_network_gets_a_gradient_every_interval_steps_only():
    model, _ = _model(**{"objective.las_interval": "2"})
    x, y, _, _ = fashion(96, 1)
    strategy = lambda: [w.numpy().copy() for w in model.networks["strategy"].trainable_weights]  # noqa: E731
    target = lambda: [w.numpy().copy() for w in model.target_variables()]  # noqa: E731
    moved = []
    for i in range(3):  # steps 0 and 2 update the strategy, step 1 does not
        before, target_before = strategy(), target()
        logs = model.train_on_batch(x[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)], return_dict=True)
        moved.append(any(not np.allclose(a, b) for a, b in zip(before, strategy())))
        assert all(not np.allclose(a, b) for a, b in zip(target_before, target()))
        assert (logs["strategy_reward"] > 0) == (i != 1)
    assert moved == [True, False, True]


def test_the_reward_is_the_capped_hardness_and_the_look_ahead_step_is_taken_back():
    model, _ = _model(**{"objective.las_reward_weights": "1,0,0"})
    x, y, _, _ = fashion(32, 1)
    x, y = tf.constant(x), tf.constant(y)
    x_adv = tf.clip_by_value(x + 0.1 * tf.sign(tf.random.normal(x.shape)), 0.0, 1.0)
    logits = model(x_adv, training=False).numpy().astype(np.float64)
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    hardness = min(-log_p[np.arange(32), y.numpy()].mean(), 10.0)  # the attack's plain CE
    before = [w.numpy().copy() for w in model.weights]  # BN moving statistics included
    reward = model.method.reward(model, x, y, x_adv)
    np.testing.assert_allclose(float(reward), hardness, rtol=1e-4)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, model.weights))
    model.method.reward_weights = (0.0, 0.0, 1.0)  # clean accuracy of the stepped copy
    clean = float(model.method.reward(model, x, y, x_adv))
    assert 0.0 <= clean <= 1.0 and 32 * clean == pytest.approx(round(32 * clean), abs=1e-4)  # of 32
