"""Attack losses for models with ASE: on the main head alone, or through the auxiliary heads too.

At inference the ASE masks follow the auxiliary heads' argmax, which has no gradient, so a loss
on the main head alone can miss the easiest way to flip the prediction: flip the mask. The
authors' PGD maximises ``loss(main) + beta_aux * mean_sites loss(aux)``; we run both and count
an example robust only if it survives both.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.models.outputs import ModelOutputs, main_logits

LogitLoss = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def on_main_head(loss: LogitLoss) -> Callable:
    """``loss`` of the main logits, for a model_fn that may return ``ModelOutputs``."""
    return lambda outputs, labels: loss(main_logits(outputs), labels)


def through_aux_heads(loss: LogitLoss, beta_aux: float) -> Callable:
    """``loss(main) + beta_aux * mean over sites of loss(aux_site)`` (the main loss without aux)."""

    def combined(outputs, labels):
        value = loss(main_logits(outputs), labels)
        aux = outputs.aux_logits if isinstance(outputs, ModelOutputs) else ()
        if aux:
            value = value + beta_aux * tf.add_n([loss(a, labels) for a in aux]) / len(aux)
        return value

    return combined
