import keras
import numpy as np
import tensorflow as tf

from again_tf.attacks import PGDSettings
from again_tf.callbacks import adversarial_examples


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(5)])


def test_monitor_attack_is_the_runs_threat_model_through_the_heads():
    model = _model()
    x = tf.random.Generator.from_seed(1).uniform((6, 8, 8, 1))
    y = tf.argmax(model(x), axis=-1, output_type=tf.int32)
    attack = PGDSettings(eps=0.5, step_size=0.125, steps=4, norm="l2", init="none")
    x_adv = adversarial_examples(model, x, y, attack).numpy()
    size = np.linalg.norm((x_adv - x.numpy()).reshape(6, -1), axis=1)
    assert (size > 0.1).all() and (size <= 0.5 + 1e-5).all()  # an L-inf step alone would be 1.0
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    before, after = loss(y, model(x)).numpy(), loss(y, model(x_adv)).numpy()
    assert (after > before).all()  # each example moved uphill on the loss the attack maximises
