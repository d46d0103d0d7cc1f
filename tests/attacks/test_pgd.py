import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.attacks import PGDSettings, cross_entropy, fgsm, pgd


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(5),
    ])


def _batch(n=16, low=0.0, high=1.0):
    x = tf.random.uniform((n, 8, 8, 1), low, high)
    y = tf.random.uniform((n,), 0, 5, tf.int32)
    return x, y


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 0.5)])
def test_stays_in_the_ball_and_the_image_box(norm, eps):
    model, (x, y) = _model(), _batch()
    x_adv = pgd(model, x, y, eps=eps, step_size=eps / 3, steps=5, norm=norm)
    delta = (x_adv - x).numpy().reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert (size <= eps + 1e-5).all()
    assert x_adv.numpy().min() >= 0.0 and x_adv.numpy().max() <= 1.0


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_eps_zero_changes_nothing(norm):
    model, (x, y) = _model(), _batch()
    x_adv = pgd(model, x, y, eps=0.0, step_size=0.1, steps=3, norm=norm)
    np.testing.assert_allclose(x_adv.numpy(), x.numpy(), atol=1e-7)


@pytest.mark.parametrize("loss", ["ce", "cw"])
def test_loss_rises_and_more_steps_do_not_hurt(loss):
    model, (x, y) = _model(), _batch(64)
    clean = cross_entropy(model(x), y).numpy().mean()
    one = pgd(model, x, y, eps=0.1, step_size=0.025, steps=1, init="none", loss=loss)
    ten = pgd(model, x, y, eps=0.1, step_size=0.025, steps=10, init="none", loss=loss)
    loss_one = cross_entropy(model(one), y).numpy().mean()
    loss_ten = cross_entropy(model(ten), y).numpy().mean()
    assert clean < loss_one <= loss_ten + 1e-6


def test_targeted_moves_towards_the_target():
    model, (x, _) = _model(), _batch(64)
    target = tf.fill((64,), 3)
    x_adv = pgd(model, x, target, eps=0.3, step_size=0.05, steps=10, targeted=True)
    assert cross_entropy(model(x_adv), target).numpy().mean() < cross_entropy(model(x), target).numpy().mean()


def test_restarts_keep_the_per_example_worst_case():
    """x = 0.5, eps 0.1, and a loss with two peaks at the ends of the ball: 10 (0.45 - x) on the
    left, x - 0.45 on the right. A random start below 0.45 (probability 1/4) climbs to the high
    peak at 0.4 (loss 0.5), any other to the right end (loss 0.15 at most). Keeping, per example,
    the restart of the highest loss finds the high peak with probability 1 - (3/4)^k; ignoring
    restarts, or keeping the last or the lowest one, would not."""
    identity = lambda x: x
    peaks = lambda z, _: tf.where(z[:, 0] < 0.45, 10.0 * (0.45 - z[:, 0]), z[:, 0] - 0.45)
    x, y = tf.fill((256, 1), 0.5), tf.zeros((256,), tf.int32)
    high = lambda x_adv: float(np.mean(x_adv.numpy()[:, 0] < 0.4 + 1e-6))
    tf.random.set_seed(0)
    one = pgd(identity, x, y, eps=0.1, step_size=0.02, steps=5, loss=peaks)
    four = pgd(identity, x, y, eps=0.1, step_size=0.02, steps=5, loss=peaks, restarts=4)
    assert 0.15 < high(one) < 0.35  # 1/4
    assert high(four) > 0.6  # 1 - (3/4)^4 = 0.68
    assert np.abs((four - x).numpy()).max() <= 0.1 + 1e-6


def test_with_keep_found_a_fooling_restart_beats_a_higher_loss():
    """Class 1 iff x > 0.5; x = 0.55, eps 0.1, and a loss that rises as the model grows surer of
    the true class. A restart whose random start lands below 0.5 fools the model and stays there;
    the others climb to a higher loss, correctly classified. Ranking restarts by loss alone would
    throw away the adversarial examples the first kind found."""
    logits = lambda x: tf.concat([0.5 - x, x - 0.5], axis=1) * 10.0
    x, y = tf.fill((256, 1), 0.55), tf.ones((256,), tf.int32)
    surer = lambda outputs, labels: -cross_entropy(outputs, labels)
    fooled = lambda x_adv: float(np.mean(x_adv.numpy()[:, 0] < 0.5))
    tf.random.set_seed(0)
    one = pgd(logits, x, y, eps=0.1, step_size=0.02, steps=5, loss=surer, keep_found=True)
    four = pgd(logits, x, y, eps=0.1, step_size=0.02, steps=5, loss=surer, keep_found=True, restarts=4)
    assert 0.15 < fooled(one) < 0.35  # P(start < 0.5) = 1/4
    assert fooled(four) > 0.6  # 1 - (3/4)^4 = 0.68


def test_fgsm_is_one_full_step_of_the_sign():
    model, (x, y) = _model(), _batch(low=0.3, high=0.7)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(cross_entropy(model(x), y))
    expected = tf.clip_by_value(x + 0.1 * tf.sign(tape.gradient(loss, x)), 0, 1)
    np.testing.assert_allclose(fgsm(model, x, y, eps=0.1).numpy(), expected.numpy(), atol=1e-6)


def test_same_result_in_tf_function_and_eagerly():
    model, (x, y) = _model(), _batch()
    eager = pgd(model, x, y, eps=0.1, step_size=0.02, steps=4, init="none")
    graph = tf.function(lambda a, b: pgd(model, a, b, eps=0.1, step_size=0.02, steps=4, init="none"))(x, y)
    np.testing.assert_allclose(eager.numpy(), graph.numpy(), atol=1e-6)


@pytest.mark.parametrize("norm,eps,step", [("linf", 0.1, 0.02), ("l2", 0.5, 0.1)])
def test_matches_cleverhans_pgd_from_the_same_start(norm, eps, step):
    """cleverhans' tf2 PGD, started at x (rand_init=False), is an independent implementation."""
    from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

    model = _model(3)
    x, y = _batch(32, 0.3, 0.7)  # away from the [0, 1] box: cleverhans clips before projecting
    ours = pgd(model, x, y, eps=eps, step_size=step, steps=10, norm=norm, init="none")
    theirs = projected_gradient_descent(
        model, x, eps, step, 10, np.inf if norm == "linf" else 2, clip_min=0.0, clip_max=1.0,
        y=y, rand_init=False, sanity_checks=False,
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)


def test_bad_arguments_are_clear():
    model, (x, y) = _model(), _batch()
    with pytest.raises(ValueError, match="steps"):
        pgd(model, x, y, eps=0.1, step_size=0.1, steps=0)
    with pytest.raises(ValueError, match="norm"):
        pgd(model, x, y, eps=0.1, step_size=0.1, steps=1, norm="l1")
    with pytest.raises(ValueError, match="loss"):
        pgd(model, x, y, eps=0.1, step_size=0.1, steps=1, loss="hinge")


def test_keep_found_never_loses_an_adversarial_example_to_more_steps():
    model, (x, y) = _model(), _batch(128)
    y = tf.argmax(model(x), axis=-1, output_type=tf.int32)  # every example starts correct

    def broken(steps, keep_found):
        x_adv = pgd(model, x, y, eps=0.3, step_size=0.1, steps=steps, init="none", keep_found=keep_found)
        return np.argmax(model(x_adv).numpy(), axis=1) != y.numpy()

    few, many = broken(3, True), broken(30, True)
    assert few.any() and np.all(many[few])  # the same path until found, then it stays
    assert many.sum() >= broken(30, False).sum()
    with pytest.raises(ValueError, match="untargeted"):
        pgd(model, x, y, eps=0.1, step_size=0.1, steps=1, targeted=True, keep_found=True)


def test_settings_give_the_same_attack_as_their_fields_and_subclasses_add_none():
    model, (x, y) = _model(), _batch()
    @dataclasses.dataclass(frozen=True)
    class WithLosses(PGDSettings):
        losses: tuple = ("ce",)

    settings = WithLosses(eps=0.1, step_size=0.04, steps=4, norm="l2", init="none", losses=("ce_aux",))
    assert settings.kwargs() == {"eps": 0.1, "step_size": 0.04, "steps": 4, "norm": "l2", "init": "none"}
    direct = pgd(model, x, y, eps=0.1, step_size=0.04, steps=4, norm="l2", init="none")
    np.testing.assert_array_equal(pgd(model, x, y, **settings.kwargs()).numpy(), direct.numpy())
    assert PGDSettings(0.1, 0.04, 4).kwargs()["init"] == "uniform"
