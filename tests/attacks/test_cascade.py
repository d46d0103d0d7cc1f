import numpy as np
import tensorflow as tf

from again_tf.attacks.cascade import cascade, correct_predictions


def _logits_fn(x):
    """Class 1 where the first feature is > 0.5, else class 0."""
    return tf.stack([0.5 - x[:, 0], x[:, 0] - 0.5], axis=1)


def test_each_attack_only_sees_the_survivors_and_the_worst_case_is_their_and():
    x = tf.constant([[0.9], [0.8], [0.7], [0.6]])
    y = tf.constant([1, 1, 1, 1])
    seen = []

    def breaks_first(xs, ys):
        seen.append(len(xs))
        return tf.tensor_scatter_nd_update(xs, [[0, 0]], [0.0])  # flips the first example only

    results = cascade(_logits_fn, x, y, [breaks_first, breaks_first, breaks_first])
    assert seen == [4, 3, 2]
    np.testing.assert_array_equal([r.numpy() for r in results],
                                  [[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1]])


def test_cascade_works_traced_and_with_no_survivors():
    x, y = tf.constant([[0.9], [0.8]]), tf.constant([1, 1])
    everything = lambda xs, ys: tf.zeros_like(xs)
    traced = tf.function(lambda a, b: cascade(_logits_fn, a, b, [everything, everything])[-1])
    np.testing.assert_array_equal(traced(x, y).numpy(), [0, 0])

    def never_empty(xs, ys):
        assert len(xs) > 0, "an attack got an empty batch"
        return xs

    eager = cascade(_logits_fn, x, y, [everything, never_empty, never_empty])
    np.testing.assert_array_equal(eager[-1].numpy(), [0, 0])


def test_correct_predictions_reshapes_labels():
    logits = tf.constant([[0.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(correct_predictions(logits, tf.constant([[1], [1]])).numpy(), [1, 0])
