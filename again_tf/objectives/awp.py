"""Adversarial Weight Perturbation (Wu et al. 2020): the perturbation ``methods.awp`` applies.

The reference takes one SGD ascent step on a proxy copy and rescales the per-layer difference
to ``gamma * ||w||``. That difference is ``lr * grad`` rescaled, so the direction is the
normalised gradient itself: ``v_l = gamma * ||w_l|| * g_l / (||g_l|| + 1e-20)``, computed here
without a proxy model. Only weights of rank > 1 (conv and dense kernels) are perturbed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf


def perturbable(variables: Sequence[tf.Variable]) -> list[tf.Variable]:
    """The variables AWP perturbs: kernels (rank > 1), as the reference's ``len(size) > 1``."""
    return [v for v in variables if len(v.shape) > 1]


def weight_perturbation(
    loss_fn: Callable[[], tf.Tensor], variables: Sequence[tf.Variable], gamma: float
) -> list[tf.Tensor]:
    """Per-variable ascent direction of ``loss_fn`` scaled to ``gamma * ||w||``.

    Under ``tf.distribute`` the gradient is summed over replicas first, so every replica
    applies the same perturbation; ``loss_fn`` should be scaled by 1 / global batch.
    """
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    return [
        gamma * tf.norm(v) / (tf.norm(g) + 1e-20) * g for g, v in zip(grads, variables)
    ]
