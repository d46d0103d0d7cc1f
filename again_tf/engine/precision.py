"""Mixed precision for training, float32 for everything that measures robustness.

Training under ``mixed_float16`` (GPU) or ``mixed_bfloat16`` (CPU) keeps float32 master weights
and computes convolutions in 16 bits. What stays float32 and why: the logits (the head is a
float32 layer) and the ASE auxiliary logits, so cross-entropy, the CW margin and DLR are not
rounded; HFF's feature statistics (a variance of 16-bit values loses most digits); the input
image, its normalisation and the attack's iterate (the eps-ball projection and the [0, 1] clip
must be exact). The input gradient passes through the 16-bit conv stack, so it has 16-bit
precision; PGD uses only its sign, and the evaluation attacks run in float32 anyway. Loss scaling
(float16 only) is Keras' LossScaleOptimizer, which compile adds; the train step scales the loss.
Evaluation, export and analysis load a checkpoint back in float32 (``as_float32``): a robustness
number is a property of the model, not of the training precision.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf


def policy_name(mixed: bool) -> str:
    if not mixed:
        return "float32"
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def dtype_policy(name: str):
    """Layers built inside use ``name``; the global policy is restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _float32_config(config):
    if isinstance(config, dict):
        return {k: ("float32" if k == "dtype" and isinstance(v, dict) else _float32_config(v))
                for k, v in config.items()}
    if isinstance(config, list):
        return [_float32_config(v) for v in config]
    return config


def as_float32(model: keras.Model) -> keras.Model:
    """The same model with every layer in float32 (a mixed-precision checkpoint, for evaluation)."""
    if model.dtype_policy.name == "float32":
        return model
    rebuilt = model.__class__.from_config(_float32_config(model.get_config()))
    rebuilt.build(model.get_build_config()["input_shape"])
    rebuilt.set_weights(model.get_weights())
    return rebuilt
