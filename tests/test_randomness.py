"""again_tf.randomness: draws keyed by (seed, draw index) inside step_seed, TF's stateful ops outside."""

import threading

import numpy as np
import pytest
import tensorflow as tf

from again_tf import randomness
from again_tf.layers.ase import ASE
from again_tf.layers.hff import HFF


def _draws(seed):
    with randomness.step_seed(tf.constant(seed, tf.int64)):
        return (randomness.uniform([5]).numpy(), randomness.normal([3]).numpy(),
                randomness.gamma([4], 1.0).numpy(), randomness.permutation(8).numpy())


def test_the_same_seed_gives_the_same_draws_and_each_draw_differs():
    first, again, other = _draws([1, 7]), _draws([1, 7]), _draws([1, 8])
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    assert sorted(first[3]) == list(range(8))
    with randomness.step_seed(tf.constant([1, 7], tf.int64)):
        assert not np.array_equal(randomness.uniform([5]).numpy(), randomness.uniform([5]).numpy())


def test_traced_layers_draw_by_the_step_seed():
    ase, hff = ASE(4, alpha=0.5), HFF(probability=1.0)
    x, y = tf.random.uniform((6, 3, 3, 2)), tf.constant([0, 1, 2, 3, 0, 1])

    @tf.function
    def step(seed):
        with randomness.step_seed(seed):
            return ase(hff(x, training=True), labels=y, training=True)[0]

    a, b = step(tf.constant([0, 5], tf.int64)), step(tf.constant([0, 5], tf.int64))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), step(tf.constant([0, 6], tf.int64)).numpy())
    assert randomness.next_seed() is None  # outside: stateful ops


@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.5])
def test_the_xla_friendly_gamma_has_the_gamma_moments(alpha):
    draws = randomness.marsaglia_tsang_gamma([200_000], tf.constant([3, 4], tf.int64), alpha).numpy()
    assert np.all(draws > 0)
    np.testing.assert_allclose(draws.mean(), alpha, rtol=0.02)  # Gamma(a, 1): mean a, variance a
    np.testing.assert_allclose(draws.var(), alpha, rtol=0.04)
    reference = np.random.default_rng(0).gamma(alpha, size=200_000)
    np.testing.assert_allclose(np.quantile(draws, [0.1, 0.5, 0.9]), np.quantile(reference, [0.1, 0.5, 0.9]),
                               rtol=0.03)


def test_each_thread_counts_its_own_draws():
    """MirroredStrategy traces replicas in threads: one replica's draws must not shift another's."""
    barrier, results = threading.Barrier(2), {}

    def replica(name):
        with randomness.step_seed(tf.constant([3, 4], tf.int64)):
            barrier.wait()  # both threads are inside their blocks before either draws
            results[name] = [randomness.uniform([2]).numpy() for _ in range(3)]

    threads = [threading.Thread(target=replica, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(results["a"], results["b"]):
        np.testing.assert_array_equal(a, b)
