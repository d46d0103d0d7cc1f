import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.attacks import autoattack, pgd
from tests.attacks.helpers import assert_in_ball_and_box, tiny_batch, tiny_model

EPS = 0.1


@pytest.fixture(scope="module")
def standard(fashion_cnn):
    """Standard AutoAttack on the 200 test images at eps 0.1, timed."""
    f = fashion_cnn
    lines = []
    start = time.perf_counter()
    result = autoattack(f.model_fn, f.x, f.y, eps=EPS, log=lines.append)
    seconds = time.perf_counter() - start
    print(f"\nAutoAttack (standard, L-inf) on the small Fashion-MNIST CNN: {len(f.x) / seconds:.1f} images/s "
          f"({len(f.x)} images, {seconds:.1f} s; {result.robust_accuracy})")
    return result, lines


def test_runs_the_four_components_in_order_and_logs_them(standard):
    result, lines = standard
    assert list(result.robust_accuracy) == ["clean", "apgd-ce", "apgd-t", "fab-t", "square"]
    assert len(lines) == 5 and "after square" in lines[-1]
    values = list(result.robust_accuracy.values())
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))


def test_record_matches_the_accuracies_and_the_returned_points(standard, fashion_cnn):
    result, _ = standard
    f = fashion_cnn
    assert result.robust_accuracy["square"] == pytest.approx(np.mean(result.broken_by == ""))
    assert result.robust_accuracy["clean"] == pytest.approx(f.clean)
    for name in ("apgd-ce", "apgd-t", "fab-t", "square"):  # accuracy after k = never broken by 1..k
        names = list(result.robust_accuracy)
        broken_so_far = np.isin(result.broken_by, ["clean", *names[1:names.index(name) + 1]])
        assert result.robust_accuracy[name] == pytest.approx(1.0 - broken_so_far.mean())
    correct = np.argmax(f.model_fn(result.x_adv).numpy(), axis=1) == f.y
    np.testing.assert_array_equal(correct, result.robust)
    np.testing.assert_array_equal(result.x_adv.numpy()[result.broken_by == "clean"],
                                  f.x[result.broken_by == "clean"])
    assert_in_ball_and_box(result.x_adv, f.x, EPS)


def test_autoattack_is_at_least_as_strong_as_pgd20(standard, fashion_cnn):
    result, _ = standard
    f = fashion_cnn
    pgd20 = f.accuracy(pgd(f.model_fn, f.x, f.y, eps=EPS, step_size=EPS / 4, steps=20))
    assert result.robust_accuracy["square"] <= pgd20
    assert result.robust_accuracy["square"] < f.clean - 0.4


def test_batches_keep_the_record_consistent(fashion_cnn):
    f = fashion_cnn
    x, y = f.x[:60], f.y[:60]
    result = autoattack(f.model_fn, x, y, eps=0.05, attacks=("apgd-ce", "square"), batch_size=16)
    correct = np.argmax(f.model_fn(result.x_adv).numpy(), axis=1) == y
    np.testing.assert_array_equal(correct, result.robust)
    assert set(result.broken_by) <= {"", "clean", "apgd-ce", "square"}
    assert_in_ball_and_box(result.x_adv, x, 0.05)


def _noisy_model():
    """A model whose outputs change between calls (Gaussian noise on the input, always on)."""
    model = tiny_model(classes=5)
    noise = keras.layers.GaussianNoise(0.05)

    def model_fn(images):
        return model(noise(images, training=True))

    return model, model_fn


def test_rand_version_runs_apgd_ce_and_dlr_with_eot():
    model, model_fn = _noisy_model()
    x, y = tiny_batch(model, 12)
    result = autoattack(model_fn, x, y, eps=EPS, version="rand")
    assert list(result.robust_accuracy) == ["clean", "apgd-ce", "apgd-dlr"]
    assert_in_ball_and_box(result.x_adv, x, EPS)
    assert result.robust_accuracy["apgd-dlr"] < result.robust_accuracy["clean"]


def test_randomness_in_the_standard_version_warns():
    model, model_fn = _noisy_model()
    x, y = tiny_batch(model, 8)
    with pytest.warns(UserWarning, match="rand"):
        autoattack(model_fn, x, y, eps=EPS, attacks=("apgd-ce",))


def test_l2_runs_the_apgd_components():
    model = tiny_model()
    x, y = tiny_batch(model, 8)
    result = autoattack(model, x, y, eps=0.5, norm="l2", attacks=("apgd-ce", "apgd-t"))
    assert_in_ball_and_box(result.x_adv, x, 0.5, norm="l2")
    assert list(result.robust_accuracy) == ["clean", "apgd-ce", "apgd-t"]


def test_eps_zero_leaves_the_clean_accuracy():
    model = tiny_model()
    x, y = tiny_batch(model, 8)
    result = autoattack(model, x, y, eps=0.0, attacks=("apgd-ce", "apgd-t", "fab-t"))
    assert result.robust_accuracy == {"clean": 1.0, "apgd-ce": 1.0, "apgd-t": 1.0, "fab-t": 1.0}
    np.testing.assert_array_equal(result.x_adv.numpy(), x.numpy())


def test_bad_arguments_are_clear():
    model = tiny_model(classes=3)
    x = tf.random.uniform((4, 8, 8, 1))
    y = tf.zeros(4, tf.int32)
    with pytest.raises(ValueError, match="version"):
        autoattack(model, x, y, eps=EPS, version="plus")
    with pytest.raises(ValueError, match="components"):
        autoattack(model, x, y, eps=EPS, attacks=("pgd",))
    with pytest.raises(ValueError, match="classes"):
        autoattack(model, x, y, eps=EPS, attacks=("apgd-t",))
    with pytest.raises(ValueError, match="norm"):
        autoattack(model, x, y, eps=EPS, norm="l2")
