"""A tiny untrained model, random images and the eps-ball check the attack tests share."""

import keras
import numpy as np
import tensorflow as tf


def tiny_model(seed=0, classes=10):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(classes),
    ])


def tiny_batch(model, n=16, seed=0):
    """Random images labelled with the model's own predictions, so that every one is attacked
    (the attacks leave misclassified examples alone)."""
    x = tf.random.Generator.from_seed(seed).uniform((n, 8, 8, 1))
    return x, tf.argmax(model(x), axis=-1, output_type=tf.int32)


def assert_in_ball_and_box(x_adv, x, eps, norm="linf", tol=1e-5):
    delta = (np.asarray(x_adv) - np.asarray(x)).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert (size <= eps + tol).all(), size.max()
    assert np.asarray(x_adv).min() >= 0.0 and np.asarray(x_adv).max() <= 1.0
