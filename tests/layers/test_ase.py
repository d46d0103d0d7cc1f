import numpy as np
import pytest
import tensorflow as tf

from again_tf import randomness
from again_tf.layers.ase import ASE, ase_mask
from tests.test_case import (
    check_config_round_trip,
    check_eager_and_graph,
    check_fit_step,
    check_saved_model_round_trip,
)

N, H, W, C, K = 8, 4, 4, 6, 5


def _features():
    return tf.random.uniform((N, H, W, C), -1.0, 1.0)


def _labels():
    return tf.constant([0, 1, 2, 3, 4, 0, 1, 2])


def test_mask_matches_numpy_with_fixed_permutation():
    kernel = np.random.default_rng(0).normal(size=(C, K)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    perm = np.array([3, 0, 7, 1, 6, 2, 5, 4])
    expected = 0.6 * kernel[:, labels].T + 0.4 * kernel[:, labels[perm]].T
    got = ase_mask(tf.constant(kernel), labels, labels[perm], 0.6)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_training_mask_mixes_true_and_a_permutation_of_labels():
    layer = ASE(K, alpha=0.6)
    a, y = _features(), _labels()
    out, aux = layer(a, labels=y, training=True)
    kernel = layer.kernel.numpy()
    ratio = out.numpy() / a.numpy()  # the mask, broadcast over H, W
    mask = ratio[:, 0, 0, :]
    np.testing.assert_allclose(ratio, np.broadcast_to(mask[:, None, None, :], ratio.shape), rtol=1e-4)
    residual = (mask - 0.6 * kernel[:, y.numpy()].T) / 0.4  # must be a column of W per example
    distances = ((residual[:, None, :] - kernel.T[None]) ** 2).sum(-1)
    random_labels = distances.argmin(-1)
    assert np.allclose(distances.min(-1), 0.0, atol=1e-8)
    assert sorted(random_labels) == sorted(y.numpy())  # y' is a permutation of the batch labels
    expected_aux = a.numpy().mean(axis=(1, 2)) @ kernel + layer.bias.numpy()
    np.testing.assert_allclose(aux.numpy(), expected_aux, rtol=1e-5, atol=1e-6)


def test_inference_uses_the_predicted_label_and_needs_no_labels():
    layer = ASE(K)
    a = _features()
    out, aux = layer(a, training=False)
    predicted = aux.numpy().argmax(-1)
    expected = a.numpy() * layer.kernel.numpy()[:, predicted].T[:, None, None, :]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_alpha_one_is_cas_true_label_mask():
    layer = ASE(K, alpha=1.0)
    a, y = _features(), _labels()
    out, _ = layer(a, labels=y, training=True)
    expected = a.numpy() * layer.kernel.numpy()[:, y.numpy()].T[:, None, None, :]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_training_without_labels_is_a_clear_error():
    with pytest.raises(ValueError, match="needs the true labels"):
        ASE(K)(_features(), training=True)


@pytest.mark.parametrize("bad", [{"num_classes": 1}, {"num_classes": 3, "alpha": 1.5}])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        ASE(**bad)


@pytest.mark.parametrize("classes,channels", [(2, 3), (10, 64), (100, 16)])
def test_any_number_of_classes_and_channels(classes, channels):
    out, aux = ASE(classes)(tf.ones((3, 2, 2, channels)), training=False)
    assert out.shape == (3, 2, 2, channels) and aux.shape == (3, classes)


def test_keras_layer_contract(tmp_path):
    layer = ASE(K, alpha=0.7)
    check_config_round_trip(layer)
    check_eager_and_graph(layer, _features())
    check_fit_step(ASE(K), _features(), _labels(), K,
                   layer_call=lambda lyr, x, y, training: lyr(x, labels=y, training=training))
    check_saved_model_round_trip(ASE(K), _features(), tmp_path)


def _seeded(layer, a, labels, training=True):
    """One call under a fixed step seed, so two calls draw the same random numbers."""
    with randomness.step_seed(tf.constant([7, 3], tf.int64)):
        return layer(a, labels=labels, training=training)


@pytest.mark.parametrize("source", ["prediction", "soft"])
def test_leak_free_masks_do_not_depend_on_the_labels(source):
    layer = ASE(K, alpha=0.6, mask_source=source)
    a, y = _features(), _labels()
    out, _ = _seeded(layer, a, y)
    shuffled, _ = _seeded(layer, a, tf.reverse(y, [0]))
    np.testing.assert_array_equal(out.numpy(), shuffled.numpy())
    label_layer = ASE(K, alpha=0.6)
    label_layer.build(a.shape)
    label_layer.set_weights(layer.get_weights())
    label_outputs = [_seeded(label_layer, a, labels)[0].numpy() for labels in (y, tf.reverse(y, [0]))]
    assert not np.allclose(*label_outputs)  # the paper's mask carries the labels


def test_prediction_mask_mixes_the_own_argmax_with_a_random_class():
    layer = ASE(K, alpha=0.6, mask_source="prediction")
    a = _features()
    out, aux = _seeded(layer, a, None)
    kernel, predicted = layer.kernel.numpy(), aux.numpy().argmax(-1)
    mask = (out.numpy() / a.numpy())[:, 0, 0, :]
    residual = (mask - 0.6 * kernel[:, predicted].T) / 0.4
    distances = ((residual[:, None, :] - kernel.T[None]) ** 2).sum(-1)
    np.testing.assert_allclose(distances.min(-1), 0.0, atol=1e-8)  # a column of W per example


def test_soft_mask_is_the_probability_weighted_columns_and_has_a_gradient():
    layer = ASE(K, alpha=1.0, mask_source="soft", temperature=0.5)
    a = tf.Variable(_features())
    out, aux = layer(a, training=False)
    probs = tf.nn.softmax(aux / 0.5).numpy()
    expected = a.numpy() * (probs @ layer.kernel.numpy().T)[:, None, None, :]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    trained, _ = _seeded(layer, a, None)  # alpha 1: the training mask is the inference mask
    np.testing.assert_allclose(trained.numpy(), out.numpy(), rtol=1e-6)
    with tf.GradientTape() as tape:  # the mask itself passes a gradient back to the features
        out, _ = layer(a, training=False)
        mask_only = tf.reduce_sum(out / tf.stop_gradient(a))
    assert np.abs(tape.gradient(mask_only, a).numpy()).max() > 1e-4


def test_head_input_feeds_the_auxiliary_logits_only():
    layer = ASE(K, alpha=1.0)
    a, other, y = _features(), _features(), _labels()
    out, aux = layer(a, labels=y, training=True, head_input=other)
    np.testing.assert_allclose(aux.numpy(), other.numpy().mean(axis=(1, 2)) @ layer.kernel.numpy()
                               + layer.bias.numpy(), rtol=1e-5, atol=1e-6)
    expected = a.numpy() * layer.kernel.numpy()[:, y.numpy()].T[:, None, None, :]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def _random_columns(layer: ASE, features: tf.Tensor, own_mask: np.ndarray) -> np.ndarray:
    """The class whose column the training mask mixed in, per example: the mask minus alpha times
    its own part (the argmax column, or the softmax-weighted columns), over 1 - alpha, is a column
    of W; which one is read off by nearest column."""
    out, _ = _seeded(layer, features, None)
    mask = (out.numpy() / features.numpy())[:, 0, 0, :]
    residual = (mask - layer.alpha * own_mask) / (1.0 - layer.alpha)
    distances = ((residual[:, None, :] - layer.kernel.numpy().T[None]) ** 2).sum(-1)
    np.testing.assert_allclose(distances.min(-1), 0.0, atol=1e-6)  # exactly a column of W
    return distances.argmin(-1)


@pytest.mark.parametrize("source", ["prediction", "soft"])
def test_the_leak_free_training_masks_mix_in_a_uniformly_random_class(source):
    """500 examples, 5 classes: each class is the random one 100 times in expectation (sd 8.9), and
    not the example's own prediction. Fixing the random class, or dropping the soft mask's mix,
    fails here."""
    layer = ASE(K, alpha=0.6, mask_source=source)
    a = tf.random.stateless_uniform((500, 2, 2, C), [4, 2], -1.0, 1.0) + 2.0  # no zero to divide by
    _, aux = layer(a, training=False)
    kernel, aux = layer.kernel.numpy(), aux.numpy()
    if source == "soft":
        e = np.exp(aux - aux.max(-1, keepdims=True))
        own = (e / e.sum(-1, keepdims=True)) @ kernel.T
    else:
        own = kernel[:, aux.argmax(-1)].T
    counts = np.bincount(_random_columns(layer, a, own), minlength=K)
    assert counts.min() >= 60 and counts.max() <= 140, counts


@pytest.mark.parametrize("bad", [{"mask_source": "oracle"}, {"mask_source": "soft", "temperature": 0.0}])
def test_bad_mask_settings_name_the_allowed_values(bad):
    with pytest.raises(ValueError, match="label, prediction, soft|> 0"):
        ASE(K, **bad)


def test_leak_free_layers_round_trip(tmp_path):
    for source in ("prediction", "soft"):
        check_config_round_trip(ASE(K, alpha=0.8, mask_source=source, temperature=2.0))
        check_saved_model_round_trip(ASE(K, mask_source=source), _features(), tmp_path)
