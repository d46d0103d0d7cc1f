"""What a forward pass returns: main logits and the ASE sites' auxiliary logits."""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class ModelOutputs(NamedTuple):
    """``aux_logits`` holds one ``[N, K]`` tensor per ASE site, in forward order (may be empty)."""

    logits: tf.Tensor
    aux_logits: tuple[tf.Tensor, ...] = ()


def main_logits(outputs) -> tf.Tensor:
    """The main head's logits of a ``ModelOutputs`` or of a plain logits tensor."""
    return outputs.logits if isinstance(outputs, ModelOutputs) else outputs
