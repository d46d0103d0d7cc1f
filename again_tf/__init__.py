"""again_tf: AGAIN adversarial training (ASE + HFF + dual loss) in TensorFlow/Keras.

The package follows the data flow: ``data`` -> ``layers``/``models`` -> ``attacks`` ->
``objectives`` -> ``models.again_model`` (train step) -> ``callbacks`` -> ``run`` (a whole run).
"""

__version__ = "0.1.0"
