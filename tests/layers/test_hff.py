import numpy as np
import pytest
import tensorflow as tf

from again_tf.layers.hff import HFF, channel_statistics, hybrid_feature_fusion, sample_dirichlet
from tests.test_case import (
    check_config_round_trip,
    check_eager_and_graph,
    check_fit_step,
    check_saved_model_round_trip,
)


def _stats(a, eps=1e-5):
    mu = a.mean(axis=(1, 2), keepdims=True)
    return mu, np.sqrt(a.var(axis=(1, 2), ddof=1, keepdims=True) + eps)


def _reference(a, s, g):
    """The poster's formulas in NumPy."""
    mu_a, sig_a = _stats(a)
    mu_s, sig_s = _stats(s)
    a1 = sig_s * (a - mu_a) / sig_a + mu_s
    a2 = sig_a * (s - mu_s) / sig_s + mu_a
    mu_1, sig_1 = _stats(a1)
    mu_2, sig_2 = _stats(a2)
    mu_hat = g[0] * mu_a + g[1] * mu_s + g[2] * mu_1 + g[3] * mu_2
    sig_hat = g[0] * sig_a + g[1] * sig_s + g[2] * sig_1 + g[3] * sig_2
    return sig_hat * (a - mu_a) / sig_a + mu_hat


def test_statistics_match_numpy_unbiased():
    a = np.random.default_rng(0).normal(size=(3, 5, 4, 2)).astype(np.float32)
    mu, sigma = channel_statistics(tf.constant(a))
    ref_mu, ref_sigma = _stats(a)
    np.testing.assert_allclose(mu.numpy(), ref_mu, rtol=1e-5)
    np.testing.assert_allclose(sigma.numpy(), ref_sigma, rtol=1e-5)


def test_fusion_matches_numpy_with_fixed_style_and_gamma():
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 2.0, size=(4, 6, 6, 3)).astype(np.float32)
    s = rng.normal(-1.0, 0.5, size=(4, 6, 6, 3)).astype(np.float32)
    g = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    got = hybrid_feature_fusion(tf.constant(a), tf.constant(s), tf.constant(g))
    np.testing.assert_allclose(got.numpy(), _reference(a, s, g), rtol=1e-4, atol=1e-5)


def test_per_sample_gamma_matches_numpy_row_by_row():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    s = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    g = rng.dirichlet(np.ones(4), size=3).astype(np.float32)
    got = hybrid_feature_fusion(tf.constant(a), tf.constant(s), tf.constant(g)).numpy()
    for i in range(3):
        np.testing.assert_allclose(got[i], _reference(a[i:i + 1], s[i:i + 1], g[i])[0], rtol=1e-4, atol=1e-5)


def test_gamma_one_hot_on_content_is_identity():
    a = tf.random.normal((2, 4, 4, 3))
    out = hybrid_feature_fusion(a, tf.random.normal((2, 4, 4, 3)), tf.constant([1.0, 0, 0, 0]))
    np.testing.assert_allclose(out.numpy(), a.numpy(), rtol=1e-4, atol=1e-4)


def test_dirichlet_draws_are_on_the_simplex():
    g = sample_dirichlet([1000], 1.0).numpy()
    np.testing.assert_allclose(g.sum(-1), 1.0, rtol=1e-5)
    assert (g > 0).all()
    np.testing.assert_allclose(g.mean(0), 0.25, atol=0.03)  # Dirichlet(1,1,1,1) mean


def test_identity_at_inference_and_with_probability_zero():
    a = tf.random.normal((4, 3, 3, 2))
    np.testing.assert_array_equal(HFF()(a, training=False).numpy(), a.numpy())
    np.testing.assert_array_equal(HFF(probability=0.0)(a, training=True).numpy(), a.numpy())


def test_training_restyles_with_batch_statistics():
    a = tf.random.normal((8, 5, 5, 3)) * tf.random.uniform((8, 1, 1, 3), 0.5, 3.0)
    out = HFF()(a, training=True)
    assert not np.allclose(out.numpy(), a.numpy())
    # Standardised content is kept: out is an affine function of a per sample and channel.
    mu, sigma = channel_statistics(a)
    mu_o, sigma_o = channel_statistics(out)
    np.testing.assert_allclose(((out - mu_o) / sigma_o).numpy(), ((a - mu) / sigma).numpy(), atol=1e-3)


def test_paired_uses_the_second_half_as_style_and_keeps_it():
    content, style = tf.random.normal((3, 4, 4, 2)), tf.random.normal((3, 4, 4, 2)) * 3 + 1
    out = HFF()(tf.concat([content, style], 0), training=True, paired=True)
    np.testing.assert_array_equal(out[3:].numpy(), style.numpy())


def test_probability_is_respected():
    layer, a = HFF(probability=0.5), tf.random.normal((4, 3, 3, 2))
    changed = [not np.allclose(layer(a, training=True).numpy(), a.numpy()) for _ in range(200)]
    assert 0.38 < np.mean(changed) < 0.62


def test_keras_layer_contract(tmp_path):
    a, y = tf.random.normal((8, 4, 4, 3)), tf.constant([0, 1, 2, 0, 1, 2, 0, 1])
    check_config_round_trip(HFF(probability=0.3, concentration=0.5, per_sample_gamma=True))
    check_eager_and_graph(HFF(), a)
    conv = tf.keras.layers.Conv2D(3, 1)
    check_fit_step(conv, a, y, 3, layer_call=lambda lyr, x, lab, training: HFF()(lyr(x), training=training))
    check_saved_model_round_trip(HFF(), a, tmp_path)


@pytest.mark.parametrize("bad", [{"probability": 1.5}, {"concentration": 0.0}])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        HFF(**bad)
