import math

import numpy as np
import pytest

from again_tf.attacks import apgd, apgd_targeted, cross_entropy, pgd
from again_tf.attacks.apgd import checkpoints, step_size_schedule
from again_tf.models.outputs import ModelOutputs
from tests.attacks.helpers import assert_in_ball_and_box, tiny_batch, tiny_model

EPS = 0.1


def test_checkpoints_by_hand_and_from_the_papers_recurrence():
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    p = [0.0, 0.22]  # p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)
    while p[-1] + max(p[-1] - p[-2] - 0.03, 0.06) <= 1.0:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    assert [math.ceil(100 * v - 1e-6) for v in p[1:]] == checkpoints(100)
    assert checkpoints(10) == [2, 3, 4, 5, 6, 7, 8, 9, 10]  # windows: 2, then the minimum 1


def test_constant_loss_halves_the_step_at_every_checkpoint():
    # Only the first loss counts as an increase (over the unset history entry, 0): 1 of 22 <= 16.5.
    sizes = step_size_schedule(np.ones((100, 1)), [1.0], EPS)[:, 0]
    expected = np.full(100, 2 * EPS)
    for j, point in enumerate(checkpoints(100)):
        expected[point - 1:] = 2 * EPS / 2 ** (j + 1)
    np.testing.assert_allclose(sizes, expected, rtol=1e-6)


def test_rising_loss_keeps_the_initial_step():
    sizes = step_size_schedule(np.arange(1, 101, dtype=np.float32)[:, None], [0.0], EPS)
    np.testing.assert_allclose(sizes, 2 * EPS, rtol=1e-6)


def test_oscillation_threshold_is_rho_of_the_window():
    # 17 of the first window's 22 steps raise the loss (> 0.75 * 22 = 16.5): kept; 16: halved.
    def first_window(increases):
        losses = np.minimum(np.arange(1, 23), increases).astype(np.float32)
        return step_size_schedule(losses[:, None], [0.0], EPS, n_iter=100)[21, 0]

    assert first_window(17) == pytest.approx(2 * EPS)
    assert first_window(16) == pytest.approx(EPS)


def test_no_new_best_since_an_unhalved_checkpoint_halves():
    # Window 1 rises (kept); window 2 rises 18 times of 19 but stays below the best: halved.
    losses = np.concatenate([np.arange(1, 23), np.linspace(0.0, 0.18, 19)]).astype(np.float32)
    sizes = step_size_schedule(losses[:, None], [0.0], EPS, n_iter=100)[:, 0]
    assert sizes[39] == pytest.approx(2 * EPS) and sizes[40] == pytest.approx(EPS)


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 0.5)])
def test_stays_in_the_ball_and_the_box(norm, eps):
    model = tiny_model()
    x, y = tiny_batch(model)
    assert_in_ball_and_box(apgd(model, x, y, eps=eps, norm=norm, steps=10), x, eps, norm)
    assert_in_ball_and_box(apgd_targeted(model, x, y, eps=eps, norm=norm, steps=5, n_target_classes=2),
                           x, eps, norm)


def test_eps_zero_changes_nothing():
    model = tiny_model()
    x, y = tiny_batch(model)
    np.testing.assert_array_equal(apgd(model, x, y, eps=0.0, steps=5).numpy(), x.numpy())
    np.testing.assert_array_equal(apgd_targeted(model, x, y, eps=0.0, steps=5, n_target_classes=2).numpy(),
                                  x.numpy())


def test_seeded_and_reproducible():
    model = tiny_model()
    x, y = tiny_batch(model, 32)
    first = apgd(model, x, y, eps=0.03, steps=5, seed=3).numpy()
    np.testing.assert_array_equal(apgd(model, x, y, eps=0.03, steps=5, seed=3).numpy(), first)


def test_misclassified_examples_are_left_alone():
    model = tiny_model()
    x, y = tiny_batch(model)
    wrong = (y + 1) % 10
    np.testing.assert_array_equal(apgd(model, x, wrong, eps=EPS, steps=5).numpy(), x.numpy())


def test_apgd_ce_and_dlr_break_most_of_a_fashion_cnn(fashion_cnn):
    f = fashion_cnn
    for loss in ("ce", "dlr"):
        x_adv = apgd(f.model_fn, f.x, f.y, eps=EPS, loss=loss)
        assert_in_ball_and_box(x_adv, f.x, EPS)
        assert f.accuracy(x_adv) < f.clean - 0.4, (loss, f.clean, f.accuracy(x_adv))


def test_apgd_ce_is_at_least_as_strong_as_pgd20(fashion_cnn):
    f = fashion_cnn
    pgd20 = f.accuracy(pgd(f.model_fn, f.x, f.y, eps=EPS, step_size=EPS / 4, steps=20))
    assert f.accuracy(apgd(f.model_fn, f.x, f.y, eps=EPS)) <= pgd20 + 0.01


def test_apgd_targeted_breaks_most_of_a_fashion_cnn(fashion_cnn):
    f = fashion_cnn
    x_adv = apgd_targeted(f.model_fn, f.x, f.y, eps=EPS)
    assert_in_ball_and_box(x_adv, f.x, EPS)
    assert f.accuracy(x_adv) < f.clean - 0.4


def test_a_callable_loss_gets_the_raw_outputs(fashion_cnn):
    """An adaptive loss through an auxiliary head (here a copy of the main one)."""
    f = fashion_cnn
    seen = []

    def model_fn(images):
        logits = f.model_fn(images)
        return ModelOutputs(logits, (logits,))

    def loss(outputs, labels):
        seen.append(type(outputs))
        return cross_entropy(outputs.logits, labels) + cross_entropy(outputs.aux_logits[0], labels)

    x_adv = apgd(model_fn, f.x[:100], f.y[:100], eps=EPS, loss=loss, steps=20)
    assert seen and all(kind is ModelOutputs for kind in seen)
    assert f.accuracy(x_adv, f.y[:100]) < f.accuracy(f.x[:100], f.y[:100]) - 0.4


def test_bad_arguments_are_clear():
    model = tiny_model()
    x, y = tiny_batch(model)
    with pytest.raises(ValueError, match="steps"):
        apgd(model, x, y, eps=EPS, steps=0)
    with pytest.raises(ValueError, match="rho"):
        apgd(model, x, y, eps=EPS, rho=0.0)
    with pytest.raises(ValueError, match="norm"):
        apgd(model, x, y, eps=EPS, norm="l1")
    with pytest.raises(ValueError, match="loss"):
        apgd(model, x, y, eps=EPS, loss="hinge")


def test_targets_must_be_other_classes():
    model = tiny_model(classes=5)
    x, y = tiny_batch(model)
    with pytest.raises(ValueError, match="n_target_classes"):
        apgd_targeted(model, x, y, eps=EPS, n_target_classes=5)
