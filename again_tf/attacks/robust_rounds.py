"""The "attack only what is still robust" round of AutoAttack's components: eager at the top level
(the batch shrinks), each round's attack traced once (``attacks.tracing``)."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

# (x_sub, y_sub) -> (x_adv_sub, success_sub): one round of an attack on the still-robust examples.
Round = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


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
