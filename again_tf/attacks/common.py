"""Pieces the AutoAttack components share: predictions, per-example norms, one trace per attack
and model whatever the batch, and the "attack only what is still robust" round."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import tensorflow as tf

from again_tf.models.outputs import main_logits

# (x_sub, y_sub) -> (x_adv_sub, success_sub): one round of an attack on the still-robust examples.
Round = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def as_labels(y) -> tf.Tensor:
    return tf.cast(tf.reshape(y, [-1]), tf.int32)


def predict(model_fn: Callable, x: tf.Tensor) -> tf.Tensor:
    """The deployed decision: argmax of the main logits, as int32."""
    return tf.argmax(main_logits(model_fn(x)), axis=-1, output_type=tf.int32)


def flat(t: tf.Tensor) -> tf.Tensor:
    """``[N, D]``, keeping D static when the example shape is (the batch size may be free)."""
    features = t.shape[1:].num_elements()
    if features is None:
        return tf.reshape(t, [tf.shape(t)[0], -1])
    return tf.reshape(t, [-1, features])


def per_example(values: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshapes ``[N]`` values to broadcast against ``like`` (``[N, 1, 1, 1]`` for images)."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


def linf_norm(t: tf.Tensor) -> tf.Tensor:
    return tf.reduce_max(tf.abs(flat(t)), axis=1)


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


def attack_still_robust(x: tf.Tensor, y: tf.Tensor, adv: tf.Tensor, robust: tf.Tensor,
                        attack: Round) -> tuple[tf.Tensor, tf.Tensor]:
    """Runs ``attack`` on the examples with ``robust`` set; those it breaks get its point in
    ``adv`` and leave the robust set (the reference's ``ind_to_fool`` / ``acc`` bookkeeping)."""
    index = tf.where(robust)[:, 0]
    if int(tf.size(index)) == 0:
        return adv, robust
    adv_sub, success = attack(tf.gather(x, index), tf.gather(y, index))
    hit = tf.boolean_mask(index, success)[:, None]
    adv = tf.tensor_scatter_nd_update(adv, hit, tf.boolean_mask(adv_sub, success))
    robust = tf.tensor_scatter_nd_update(robust, hit, tf.zeros(tf.shape(hit)[:1], tf.bool))
    return adv, robust


def kth_largest_class(logits: tf.Tensor, k: int) -> tf.Tensor:
    """The class with the k-th largest logit (k = 2: the runner-up), the targets of APGD-T/FAB-T."""
    return tf.cast(tf.math.top_k(logits, k=k).indices[:, k - 1], tf.int32)


def check_target_classes(model_fn: Callable, x: tf.Tensor, n_target_classes: int) -> None:
    """Targets are the other classes, so at most (number of classes - 1) of them."""
    n_classes = int(main_logits(model_fn(x[:1])).shape[-1])
    if not 1 <= n_target_classes < n_classes:
        raise ValueError(f"n_target_classes must be in [1, {n_classes - 1}] for a model with {n_classes} "
                         f"classes, got {n_target_classes}.")
