import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.methods.variable_updates import update_variables


def test_update_variables_adds_and_restores():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    deltas = [tf.ones_like(v) * 0.5 for v in variables]
    update_variables(variables, deltas)
    for v, b in zip(variables, before):
        np.testing.assert_allclose(v.numpy(), b + 0.5, rtol=1e-6)
    update_variables(variables, [-d for d in deltas])
    update_variables(variables, [tf.constant(b) for b in before], mode="assign")
    for v, b in zip(variables, before):
        np.testing.assert_allclose(v.numpy(), b, rtol=1e-6)


def test_an_unknown_mode_is_refused_and_changes_nothing():
    variable = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match="allowed: add, assign"):
        update_variables([variable], [tf.constant([5.0, 5.0])], mode="set")
    np.testing.assert_array_equal(variable.numpy(), [1.0, 2.0])
