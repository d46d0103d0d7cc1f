"""A small CNN trained on real Fashion-MNIST, once per session, for the AutoAttack components."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from tests.engine.helpers import fashion

N_TEST = 200


@pytest.fixture(scope="session")
def fashion_cnn():
    """``model_fn`` (inference mode), 200 test images and labels, clean accuracy (about 0.85)."""
    keras.utils.set_random_seed(0)
    x, y, xt, yt = fashion(9600, N_TEST)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])
    model.compile(keras.optimizers.Adam(2e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)  # 300 steps

    def model_fn(images):
        return model(images, training=False)

    def accuracy(images, labels=yt):
        return float(np.mean(np.argmax(model_fn(images).numpy(), axis=1) == np.asarray(labels)))

    return SimpleNamespace(model=model, model_fn=model_fn, x=xt, y=yt, accuracy=accuracy,
                           clean=accuracy(xt))

