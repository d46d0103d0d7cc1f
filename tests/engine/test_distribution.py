"""The train step under MirroredStrategy: same update and logged loss with 1 and 2 replicas."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model
from tests.engine.helpers import fashion, tiny_config

INFO = dataset_info("fashion_mnist")


def _compiled(strategy, config, initial):
    with strategy.scope():
        model = compile_model(build_model(config, INFO), config, steps_per_epoch=3)
        model.set_weights(initial)
    return model


def _sync(source, target):
    """Copies weights, BN statistics and optimizer slots (momentum, iterations)."""
    target.set_weights(source.get_weights())
    for s, t in zip(source.optimizer.variables, target.optimizer.variables):
        t.assign(s)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["again_pgd_at", "again_awp_trades"])
def test_one_and_two_replicas_take_the_same_steps(method):
    """Three steps; before each, the 2-replica model gets the 1-replica state.

    Per-replica random draws (batch permutations, random starts) cannot match a single replica's,
    so they are off here: alpha = 1, no HFF, PGD from x; SyncBN makes batch statistics global.
    The state is re-synced per step because adversarial training amplifies float rounding
    (a ReLU or a sign() that flips changes x_adv by a whole step), so free-running copies drift
    apart by ~1e-4 in three steps even though each step computes the same update.
    """
    config = tiny_config(method, **{"again.alpha": "1.0", "again.hff": "false",
                                    "attack.init": "none", "model.sync_batchnorm": "true"})
    x, y, _, _ = fashion(96, 1)
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                         cross_device_ops=tf.distribute.ReductionToOneDevice())
    assert two.num_replicas_in_sync == 2
    with one.scope():
        initial = build_model(config, INFO).get_weights()
    m1, m2 = _compiled(one, config, initial), _compiled(two, config, initial)
    for step in range(3):
        xb, yb = x[32 * step: 32 * (step + 1)], y[32 * step: 32 * (step + 1)]
        if step:
            _sync(m1, m2)
        l1 = m1.train_on_batch(xb, yb, return_dict=True)
        l2 = m2.train_on_batch(xb, yb, return_dict=True)
        for a, b in zip(m1.get_weights(), m2.get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
        for key in ("loss", "loss_base", "loss_aux"):
            np.testing.assert_allclose(l1[key], l2[key], rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(initial, m1.get_weights()))



def test_cluster_workers_counts_the_chief_and_worker_tasks_only():
    from again_tf.engine.distribution import cluster_workers

    spec = tf.train.ClusterSpec({"chief": ["h:1"], "worker": ["h:2", "h:3"], "ps": ["h:4"]})
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(spec, task_type="worker", task_id=0)
    assert cluster_workers(resolver) == 3
    empty = tf.distribute.cluster_resolver.SimpleClusterResolver(tf.train.ClusterSpec({}))
    assert cluster_workers(empty) == 0 and cluster_workers(None) == 0
