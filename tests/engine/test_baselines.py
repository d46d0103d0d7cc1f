"""The seed's other baselines as models: CAS (ASE with alpha 1, no HFF) and LBGAT's guide."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine import build_model, compile_model
from tests.engine.helpers import fashion, tiny_config

INFO = dataset_info("fashion_mnist")


def test_cas_masks_with_the_true_label_in_training_and_the_prediction_at_inference():
    config = tiny_config("cas")
    assert (config.again.ase, config.again.hff, config.again.alpha, config.method) == \
        (True, False, 1.0, "cas_pgd_at")
    model = build_model(config, INFO)
    x, y, _, _ = fashion(16, 1)
    other = (y + 1) % 10
    # Training: the mask is W[:, y] alone (alpha 1: no random-label part), so labels decide it.
    a, b = model(x, labels=y, training=True), model(x, labels=y, training=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), model(x, labels=other, training=True).numpy())
    # Inference: no labels needed, and labels given are ignored.
    np.testing.assert_array_equal(model(x, training=False).numpy(),
                                  model(x, labels=other, training=False).numpy())


@pytest.mark.slow
def test_lbgat_trains_its_guide_with_the_model_and_saves_it(tmp_path):
    config = tiny_config("lbgat")
    model = compile_model(build_model(config, INFO), config, steps_per_epoch=4)
    x, y, xt, yt = fashion(2048, 256)
    guide_before = [w.numpy().copy() for w in model.networks["guide"].trainable_weights]
    for start in range(0, 2048, 32):
        model.train_on_batch(x[start:start + 32], y[start:start + 32])
    guide = model.networks["guide"]
    assert all(not np.allclose(b, w.numpy()) for b, w in zip(guide_before, guide.trainable_weights))
    guide_accuracy = np.mean(np.argmax(guide(xt, training=False), 1) == yt)
    assert guide_accuracy > 0.3  # the guide learns the clean task (chance: 0.1)
    model.save(tmp_path / "lbgat.keras")
    reloaded = keras.models.load_model(tmp_path / "lbgat.keras", compile=False)
    np.testing.assert_allclose(reloaded.networks["guide"](xt[:8]).numpy(), guide(xt[:8]).numpy(), atol=1e-5)
    np.testing.assert_allclose(reloaded(tf.constant(xt[:8])).numpy(), model(xt[:8]).numpy(), atol=1e-5)
