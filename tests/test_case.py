"""Shared checks for every Keras layer: config round trip, eager and graph shapes, a fit step,
and a ``.keras`` save/load that predicts the same."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def check_config_round_trip(layer: keras.layers.Layer) -> keras.layers.Layer:
    """from_config(get_config()) rebuilds an equal config."""
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    return clone


def check_eager_and_graph(layer, inputs, **call_kwargs):
    """The same output structure and shapes eagerly and inside tf.function (inference mode)."""
    eager = layer(inputs, training=False, **call_kwargs)
    graph = tf.function(lambda x: layer(x, training=False, **call_kwargs))(inputs)
    for e, g in zip(tf.nest.flatten(eager), tf.nest.flatten(graph)):
        assert e.shape == g.shape
        np.testing.assert_allclose(e.numpy(), g.numpy(), rtol=1e-5, atol=1e-6)
    return eager


class _Wrapper(keras.Model):
    """Runs ``layer_call(layer, x, labels, training)``, pools it and classifies; a second output
    of the layer (ASE's auxiliary logits) gets its own cross-entropy term."""

    def __init__(self, layer, layer_call, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.layer_call = layer, layer_call
        self.head = keras.layers.Dense(num_classes)

    def call(self, x, labels=None, training=None):
        out = self.layer_call(self.inner, x, labels, training)
        features, aux = (out[0], out[1]) if isinstance(out, (tuple, list)) else (out, None)
        return self.head(tf.reduce_mean(features, axis=[1, 2])), aux

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            logits, aux = self(x, labels=y, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, True))
            if aux is not None:
                loss += tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, aux, True))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}


def check_fit_step(layer, inputs, labels, num_classes, layer_call=None):
    """One ``fit`` step in training mode runs in a traced train step, gives a finite loss and
    changes every trainable weight of the layer."""
    layer_call = layer_call or (lambda lyr, x, y, training: lyr(x, training=training))
    model = _Wrapper(layer, layer_call, num_classes, name="wrapper")
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model(inputs, labels=labels, training=False)  # build, so the weights exist to compare
    before = [w.numpy().copy() for w in layer.trainable_weights]
    assert before, "the layer has no trainable weights to check"
    history = model.fit(inputs, labels, batch_size=len(inputs), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [w.numpy() for w in layer.trainable_weights]
    assert all(not np.allclose(a, b) for a, b in zip(before, after)), "a weight did not train"
    return model


def check_saved_model_round_trip(layer, inputs, tmp_path, **call_kwargs):
    """A functional model around the layer saves to ``.keras`` and reloads with equal outputs."""
    x = keras.Input(inputs.shape[1:])
    outputs = layer(x, **call_kwargs)
    model = keras.Model(x, outputs)
    path = tmp_path / "layer.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    for a, b in zip(tf.nest.flatten(model(inputs)), tf.nest.flatten(reloaded(inputs))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    return reloaded
