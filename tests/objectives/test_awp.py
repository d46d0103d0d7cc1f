import keras
import numpy as np
import tensorflow as tf

from again_tf.objectives.awp import perturbable, weight_perturbation


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(),
                              keras.layers.Dense(2)])
    return model


def test_only_kernels_are_perturbed():
    names = [v.path for v in perturbable(_model().trainable_variables)]
    assert len(names) == 2 and all("kernel" in n for n in names)


def test_perturbation_is_the_normalised_gradient_scaled_by_gamma_times_weight_norm():
    model = _model()
    x, y = tf.random.normal((8, 4)), tf.constant([0, 1] * 4)

    def loss_fn():
        logits = model(x, training=True)
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))

    variables = perturbable(model.trainable_variables)
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    deltas = weight_perturbation(loss_fn, variables, gamma=5e-3)
    for d, g, v in zip(deltas, grads, variables):
        np.testing.assert_allclose(np.linalg.norm(d), 5e-3 * np.linalg.norm(v.numpy()), rtol=1e-5)
        cosine = np.sum(d.numpy() * g.numpy()) / (np.linalg.norm(d) * np.linalg.norm(g))
        assert cosine > 0.9999  # an ascent direction
