import numpy as np
import pytest
import tensorflow as tf

from again_tf.attacks import square
from again_tf.attacks.square import _square_update, p_selection, square_sizes
from tests.attacks.helpers import assert_in_ball_and_box, tiny_batch, tiny_model

EPS = 0.1


@pytest.mark.parametrize("iteration,expected", [
    (0, 0.8), (10, 0.8), (11, 0.4), (50, 0.4), (51, 0.2), (200, 0.2), (201, 0.1), (501, 0.05),
    (1001, 0.025), (2001, 0.0125), (4000, 0.0125), (4001, 0.00625), (4999, 0.00625), (8001, 0.8 / 512),
])
def test_p_schedule_by_hand(iteration, expected):
    assert p_selection(iteration, 0.8, 10000) == pytest.approx(expected)


def test_rescaled_schedule_runs_on_a_10000_query_scale():
    assert p_selection(6, 0.8, 5000, rescale=True) == pytest.approx(0.4)  # 6 / 5000 * 10000 = 12
    assert p_selection(6, 0.8, 5000, rescale=False) == pytest.approx(0.8)


def test_square_sides_on_fashion_mnist_by_hand():
    # round(sqrt(p * 784)) for p = 0.8, 0.4, 0.2, 0.1, 0.05, 0.025, 0.0125, 0.00625.
    sizes = square_sizes(5000, (28, 28, 1))
    assert [sizes[i] for i in (0, 11, 51, 201, 501, 1001, 2001, 4001)] == [25, 18, 13, 9, 6, 4, 3, 2]


def _changed(shared_window, n=6, size=3):
    x = tf.fill((n, 8, 8, 1), 0.5)
    sizes = tf.constant([size], tf.int32)
    x_new = _square_update(x, x, sizes, EPS, tf.constant([1, 2], tf.int64), tf.constant(0), shared_window)
    moved = np.abs(x_new.numpy() - x.numpy())[..., 0]
    np.testing.assert_allclose(moved[moved > 0], EPS, rtol=1e-5)  # to a corner of the eps-ball
    return moved > 0


@pytest.mark.parametrize("shared_window", [False, True])
def test_each_update_is_one_square_per_image(shared_window):
    changed = _changed(shared_window)
    for mask in changed:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert len(rows) == len(cols) == 3 and mask.sum() == 9
        assert rows[-1] - rows[0] == 2 and cols[-1] - cols[0] == 2
    distinct = len({mask.tobytes() for mask in changed})
    assert distinct == 1 if shared_window else distinct > 1


def test_stays_in_the_ball_and_eps_zero_changes_nothing():
    model = tiny_model()
    x, y = tiny_batch(model)
    assert_in_ball_and_box(square(model, x, y, eps=EPS, n_queries=50), x, EPS)
    np.testing.assert_array_equal(square(model, x, y, eps=0.0, n_queries=20).numpy(), x.numpy())


def test_seeded_and_reproducible():
    model = tiny_model()
    x, y = tiny_batch(model, 32)
    first = square(model, x, y, eps=0.05, n_queries=30, seed=5).numpy()
    np.testing.assert_array_equal(square(model, x, y, eps=0.05, n_queries=30, seed=5).numpy(), first)


def test_square_breaks_most_of_a_fashion_cnn(fashion_cnn):
    f = fashion_cnn
    x, y = f.x[:100], f.y[:100]
    x_adv = square(f.model_fn, x, y, eps=EPS)
    assert_in_ball_and_box(x_adv, x, EPS)
    assert f.accuracy(x_adv, y) < f.accuracy(x, y) - 0.4


def test_bad_arguments_are_clear():
    model = tiny_model()
    x, y = tiny_batch(model)
    with pytest.raises(ValueError, match="linf"):
        square(model, x, y, eps=EPS, norm="l2")
    with pytest.raises(ValueError, match="n_queries"):
        square(model, x, y, eps=EPS, n_queries=0)
