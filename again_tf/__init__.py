"""again_tf: AGAIN adversarial training (ASE + HFF + dual loss) in TensorFlow/Keras.

The package follows the data flow: ``data`` -> ``layers``/``models`` -> ``attacks`` ->
``objectives`` -> ``methods`` -> ``engine`` (the train step) -> ``evaluation``/``callbacks`` ->
``run`` (a whole run); a stage never imports a later one (tests/test_layering.py).
"""

__version__ = "0.1.0"
