import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import linprog

from again_tf.attacks import fab_targeted
from again_tf.attacks.fab import projection_linf
from tests.attacks.helpers import assert_in_ball_and_box, tiny_batch, tiny_model

EPS = 0.1


def _project(t, w, b):
    return projection_linf(tf.constant([t], tf.float32), tf.constant([w], tf.float32),
                           tf.constant([b], tf.float32)).numpy()[0]


@pytest.mark.parametrize("t,w,b,expected", [
    ([0.5, 0.5], [1.0, 1.0], 0.6, [-0.2, -0.2]),    # w.t = 1.0: both coordinates give 0.2
    ([0.5, 0.1], [1.0, 4.0], 0.2, [-0.3, -0.1]),    # the second hits the box at 0.1; the first goes on
    ([0.5, 0.1], [1.0, 4.0], -1.0, [-0.5, -0.1]),   # out of reach: the whole way to the corner
    ([0.5, 0.1], [1.0, 4.0], 2.0, [0.22, 0.22]),    # from the other side: 5 lambda = 1.1
    ([0.5, 0.1], [0.0, 4.0], 0.3, [0.0, -0.025]),   # no weight, no move
])
def test_projection_by_hand(t, w, b, expected):
    np.testing.assert_allclose(_project(t, w, b), expected, atol=1e-6)


def _smallest_linf_step(t, w, b):
    """min lambda s.t. |d_i| <= lambda, 0 <= t + d <= 1, w . (t + d) = b by linear programming;
    None if no point of the box is on the hyperplane."""
    n = len(t)
    cost = np.r_[np.zeros(n), 1.0]
    bound = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
    result = linprog(cost, A_ub=bound, b_ub=np.zeros(2 * n), A_eq=np.r_[w, 0.0][None],
                     b_eq=[b - w @ t], bounds=[(-ti, 1 - ti) for ti in t] + [(0, None)])
    assert result.status in (0, 2)
    return result.fun if result.status == 0 else None


def test_projection_is_the_smallest_linf_step_onto_the_hyperplane():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, (40, 12)).astype(np.float64)
    t[:, :3] = np.round(t[:, :3])  # some coordinates on the box
    w = rng.normal(size=(40, 12)) * (rng.uniform(size=(40, 12)) > 0.2)
    b = np.sum(w * t, 1) + rng.normal(scale=2.5, size=40)
    d = projection_linf(tf.constant(t, tf.float32), tf.constant(w, tf.float32),
                        tf.constant(b, tf.float32)).numpy()
    assert ((t + d) >= -1e-6).all() and ((t + d) <= 1 + 1e-6).all()
    reachable = 0
    for i in range(len(t)):
        smallest = _smallest_linf_step(t[i], w[i], b[i])
        if smallest is None:  # the whole way to the corner that gets closest
            corner = (w[i] * (b[i] - w[i] @ t[i]) > 0).astype(float)
            np.testing.assert_allclose((t[i] + d[i])[w[i] != 0], corner[w[i] != 0], atol=1e-6)
            continue
        reachable += 1
        assert np.sum(w[i] * (t[i] + d[i])) == pytest.approx(b[i], abs=1e-4)
        assert np.abs(d[i]).max() == pytest.approx(smallest, abs=1e-5)
    assert 10 < reachable < 40


def test_stays_in_the_ball_and_eps_zero_changes_nothing():
    model = tiny_model()
    x, y = tiny_batch(model)
    assert_in_ball_and_box(fab_targeted(model, x, y, eps=EPS, steps=10, n_target_classes=3), x, EPS)
    np.testing.assert_array_equal(fab_targeted(model, x, y, eps=0.0, steps=5, n_target_classes=2).numpy(),
                                  x.numpy())


def test_restarts_start_inside_half_the_ball():
    model = tiny_model()
    x, y = tiny_batch(model)
    assert_in_ball_and_box(fab_targeted(model, x, y, eps=EPS, steps=5, n_target_classes=1, restarts=2),
                           x, EPS)


def test_fab_t_breaks_most_of_a_fashion_cnn(fashion_cnn):
    f = fashion_cnn
    x, y = f.x[:100], f.y[:100]
    x_adv = fab_targeted(f.model_fn, x, y, eps=EPS)
    assert_in_ball_and_box(x_adv, x, EPS)
    assert f.accuracy(x_adv, y) < f.accuracy(x, y) - 0.4


def test_bad_arguments_are_clear():
    model = tiny_model(classes=5)
    x, y = tiny_batch(model)
    with pytest.raises(ValueError, match="linf"):
        fab_targeted(model, x, y, eps=EPS, norm="l2")
    with pytest.raises(ValueError, match="n_target_classes"):
        fab_targeted(model, x, y, eps=EPS, n_target_classes=5)
