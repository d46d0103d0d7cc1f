import numpy as np
import pytest
import tensorflow as tf

from again_tf.analysis import grad_cam, integrated_gradients, pixel_map
from again_tf.data import dataset_info
from again_tf.engine import build_model
from tests.engine.helpers import tiny_config


def test_integrated_gradients_of_a_linear_model_is_input_times_weight():
    w = tf.constant(np.random.default_rng(0).normal(size=(12, 3)), tf.float32)
    logits_fn = lambda x: tf.reshape(x, [-1, 12]) @ w
    x = tf.random.uniform((2, 2, 2, 3))
    ig = integrated_gradients(logits_fn, x, tf.constant([1, 2]), steps=4).numpy()
    want = x.numpy().reshape(2, 12) * w.numpy()[:, [1, 2]].T
    np.testing.assert_allclose(ig.reshape(2, 12), want, rtol=1e-5, atol=1e-6)


def test_integrated_gradients_is_complete_on_the_again_model():
    model = build_model(tiny_config(), dataset_info("fashion_mnist"))
    x = tf.random.uniform((3, 28, 28, 1))
    classes = tf.constant([0, 4, 9])
    ig = integrated_gradients(lambda v: model(v, training=False), x, classes, steps=64)
    logits, base = model(x, training=False), model(tf.zeros_like(x), training=False)
    gap = tf.gather(logits - base, classes, axis=1, batch_dims=1).numpy()
    np.testing.assert_allclose(tf.reduce_sum(ig, axis=[1, 2, 3]).numpy(), gap, rtol=0.1, atol=0.05)
    assert pixel_map(ig).shape == (3, 28, 28)


def test_grad_cam_matches_the_formula_on_a_hand_made_feature_map():
    a = tf.constant(np.random.default_rng(1).uniform(size=(1, 2, 2, 3)), tf.float32)
    w = tf.constant([[1.0, -1.0], [2.0, 0.0], [-3.0, 1.0]])
    features_fn = lambda x: (x, tf.reduce_mean(x, axis=[1, 2]) @ w)
    cam = grad_cam(features_fn, a, tf.constant([0])).numpy()
    alpha = w.numpy()[:, 0] / 4  # d mean_hw / dA = 1/4
    want = np.maximum((a.numpy()[0] * alpha).sum(-1), 0)
    np.testing.assert_allclose(cam[0], want, rtol=1e-5)


def test_grad_cam_on_the_again_model_has_the_image_size():
    model = build_model(tiny_config(), dataset_info("fashion_mnist"))
    cam = grad_cam(model.features_and_logits, tf.random.uniform((2, 28, 28, 1)), tf.constant([1, 2]))
    assert cam.shape == (2, 28, 28) and np.all(cam.numpy() >= 0)


def test_grad_cam_on_an_inner_site_reads_that_sites_output():
    model = build_model(tiny_config(), dataset_info("fashion_mnist"))
    images = tf.random.uniform((2, 28, 28, 1))
    block, logits = model.features_and_logits(images, "block")
    last, same_logits = model.features_and_logits(images)
    np.testing.assert_allclose(logits.numpy(), same_logits.numpy(), rtol=1e-6)
    assert model.backbone.sites[-1] == "features" and not np.allclose(block.numpy(), last.numpy())
    cam = grad_cam(lambda v: model.features_and_logits(v, "block"), images, tf.constant([1, 2]))
    assert cam.shape == (2, 28, 28) and np.all(cam.numpy() >= 0)
    with pytest.raises(ValueError, match="no AGAIN site 'stem'"):
        model.features_and_logits(images, "stem")
