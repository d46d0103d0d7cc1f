"""LAS-AT's strategy network as a Keras model: config round trip and .keras save/load."""

import keras
import numpy as np

from again_tf.models.small_cnn import SmallCNN
from again_tf.models.strategy import StrategyNetwork
from tests.test_case import check_config_round_trip


def _strategy():
    backbone = SmallCNN(num_classes=10, sites=(), widths=(4, 4, 8), name="backbone")
    model = StrategyNetwork(backbone, (13, 5, 12), mean=[0.286], std=[0.353], name="strategy")
    model.build((None, 28, 28, 1))
    return model


def test_heads_round_trip_and_save(tmp_path):
    model = _strategy()
    x = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype("float32")
    assert [h.shape for h in model(x)] == [(3, 13), (3, 5), (3, 12)]
    check_config_round_trip(model)
    model.save(tmp_path / "strategy.keras")
    reloaded = keras.models.load_model(tmp_path / "strategy.keras")
    for a, b in zip(model(x), reloaded(x)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
