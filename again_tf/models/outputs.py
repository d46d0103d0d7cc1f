"""What a forward pass returns: main logits and the ASE sites' auxiliary logits, and AGAIN's
dual combination of a per-head quantity over those heads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import tensorflow as tf


class ModelOutputs(NamedTuple):
    """``aux_logits`` holds one ``[N, K]`` tensor per ASE site, in forward order (may be empty)."""

    logits: tf.Tensor
    aux_logits: tuple[tf.Tensor, ...] = ()


def main_logits(outputs) -> tf.Tensor:
    """The main head's logits of a ``ModelOutputs`` or of a plain logits tensor."""
    return outputs.logits if isinstance(outputs, ModelOutputs) else outputs


def aux_logits(outputs) -> tuple[tf.Tensor, ...]:
    """The auxiliary heads' logits (none for a plain logits tensor)."""
    return outputs.aux_logits if isinstance(outputs, ModelOutputs) else ()


def per_head(fn: Callable, outputs, *others, **main_only) -> tuple:
    """``fn(logits, *other_logits)`` on the main head, then on each auxiliary head: ``(main, [aux])``.

    ``others`` are outputs of other passes (or None) whose same head is passed alongside, e.g. the
    clean pass for TRADES' KL; ``main_only`` keyword arguments go to the main head's call only
    (e.g. LBGAT's guide logits, which have no auxiliary heads).
    """
    main = fn(main_logits(outputs), *[None if o is None else main_logits(o) for o in others], **main_only)
    aux = [fn(logits, *[None if o is None else aux_logits(o)[i] for o in others])
           for i, logits in enumerate(aux_logits(outputs))]
    return main, aux


def dual(main: tf.Tensor, aux: Sequence[tf.Tensor], beta_aux: float) -> tf.Tensor:
    """AGAIN's dual combination (spec section 3): ``main + beta_aux * mean(aux)``; ``main`` when
    the model has no auxiliary heads."""
    if not aux:
        return main
    return main + beta_aux * (tf.add_n(list(aux)) / len(aux))
