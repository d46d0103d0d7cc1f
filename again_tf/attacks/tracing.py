"""One trace per attack and model whatever the batch size: AutoAttack's components shrink their
batch to the still-robust examples, which would otherwise retrace every round."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import tensorflow as tf


def _spec(example) -> tf.TensorSpec:
    if isinstance(example, tf.TensorSpec):
        return example
    return tf.TensorSpec([None, *example.shape[1:]], example.dtype)


_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def traced(model_fn: Callable, key: tuple, build: Callable, *examples) -> Callable:
    """``tf.function(build(model_fn))`` traced once for any batch size, and kept per ``model_fn``
    and ``key`` (the attack's settings): the attacks shrink their batch to the still-robust
    examples after every restart or target, and AutoAttack calls them batch by batch, which would
    otherwise retrace each time. Each example is a batched tensor like the argument or its exact
    ``tf.TensorSpec``. ``model_fn`` must be a function of its input and the model's variables."""
    specs = [_spec(example) for example in examples]
    key = (key, tuple((tuple(spec.shape), spec.dtype) for spec in specs))
    try:
        per_model = _TRACED.setdefault(model_fn, {})
    except TypeError:  # not weakly referenceable: trace for this call only
        return tf.function(build(model_fn), input_signature=specs, autograph=False)
    if key not in per_model:  # a weak proxy, so that the cache does not keep the model alive
        per_model[key] = tf.function(build(weakref.proxy(model_fn)), input_signature=specs, autograph=False)
    return per_model[key]
