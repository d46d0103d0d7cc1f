import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine import AgainModel, build_model, compile_model
from tests.engine.helpers import eval_attack, fashion, tiny_config

INFO = dataset_info("fashion_mnist")


def _batch(n=32):
    x, y, _, _ = fashion(n, 1)
    return tf.constant(x), tf.constant(y)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model(x, training=False).numpy(), axis=1) == y.numpy()))


def test_keras_save_and_load_predict_the_same(tmp_path):
    model = build_model(tiny_config(), INFO)
    x, _ = _batch()
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded, AgainModel)
    np.testing.assert_allclose(reloaded(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reloaded.forward(x).aux_logits[0].numpy(),
                               model.forward(x).aux_logits[0].numpy(), rtol=1e-5, atol=1e-6)


def test_input_is_normalised_inside_the_model():
    model = build_model(tiny_config(), INFO)
    x, _ = _batch(4)
    expected = (x.numpy() - 0.2860) / 0.3530
    np.testing.assert_allclose(model.normalize(x).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_hff_clean_style_uses_the_clean_batch_and_returns_one_output_per_example():
    config = tiny_config(**{"again.hff_style": "clean"})
    model = build_model(config, INFO)
    x, y = _batch(8)
    out = model.forward(x + 0.01, y, training=True, style_images=x)
    assert out.logits.shape == (8, 10) and all(a.shape == (8, 10) for a in out.aux_logits)


SLOW = pytest.mark.slow  # 3-6 s each: the fast subset keeps one step of PGD-AT, AGAIN, FAT and CAS


@pytest.mark.parametrize("method", [
    "pgd_at", "again_pgd_at", "fat", "cas",
    *(pytest.param(m, marks=SLOW) for m in ("again_trades", "again_mart", "again_awp_pgd_at", "awp_trades",
                                            "again_fat_trades", "lbgat"))])
def test_one_train_step_per_method_logs_finite_terms_and_moves_weights(method):
    config = tiny_config(method)
    model = compile_model(build_model(config, INFO), config, steps_per_epoch=4)
    x, y = _batch()
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert ("loss_aux" in logs) == method.startswith(("again", "cas"))
    if "trades" in method:
        assert "kl" in logs and "ce_clean" in logs
    changed = [not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights)]
    assert all(changed)
    # Both accuracies are logged after the update, in inference mode: the clean one is the
    # updated model's, recomputed here; the robust one counts correct examples of this batch.
    assert logs["clean_accuracy"] == pytest.approx(_accuracy(model, x, y), abs=1e-6)
    assert 32 * logs["robust_accuracy"] == pytest.approx(round(32 * logs["robust_accuracy"]), abs=1e-4)


@pytest.mark.slow
def test_test_step_reports_clean_and_robust_accuracy(trained_again):
    """On the shared trained model (tests/conftest.py), 64 test images."""
    model, x, y = trained_again.model, trained_again.x[:64], trained_again.y[:64]
    clean = _accuracy(model, tf.constant(x), tf.constant(y))
    assert clean >= 0.4  # chance is 0.1: the checks below need correct examples to break
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert set(logs) >= {"clean_accuracy", "robust_accuracy", "loss"}
    assert logs["clean_accuracy"] == pytest.approx(clean, abs=1e-6)

    def robust(**attack):
        with eval_attack(model, init="none", **attack):
            return model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)["robust_accuracy"]

    # From x, an example stays at the first iterate that fools the model: eps 0 breaks nothing,
    # eps 0.3 breaks correct examples (14 of 38 when written) and never makes a wrong one right.
    assert robust(eps=0.0) == pytest.approx(clean, abs=1e-6)
    assert robust(eps=0.3) <= clean - 8 / 64


@pytest.mark.slow
def test_worst_case_evaluation_is_never_above_a_single_attack(trained_again):
    """The cascade over (ce_aux, ce) counts an example robust only if both attacks fail."""
    model, x, y = trained_again.model, trained_again.x[:64], trained_again.y[:64]
    results = {}
    for losses in (("ce",), ("ce_aux",), ("ce_aux", "ce")):
        with eval_attack(model, losses=losses, init="none"):
            logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
        results[losses] = logs["robust_accuracy"]
    worst = results[("ce_aux", "ce")]
    assert worst <= results[("ce",)] + 1e-6 and worst <= results[("ce_aux",)] + 1e-6


def test_the_private_keras_hook_the_model_overrides_is_still_there_and_called_by_fit():
    """AgainModel overrides Keras' private ``_maybe_symbolic_build`` (multi-worker fit fails
    without it); requirements.txt pins Keras to the minor version tested, and this test is the
    first to fail when Keras renames the hook, changes its arguments or stops calling it."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    hook = TensorFlowTrainer._maybe_symbolic_build
    assert list(inspect.signature(hook).parameters) == ["self", "iterator", "data_batch"]
    assert "self._maybe_symbolic_build(iterator=epoch_iterator)" in inspect.getsource(TensorFlowTrainer.fit)
    assert AgainModel._maybe_symbolic_build is not hook

