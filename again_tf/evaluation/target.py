"""What is evaluated: the deployed model as functions of images, from Keras or a SavedModel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from again_tf.attacks.cascade import correct_predictions
from again_tf.config.schema import AgainConfig
from again_tf.errors import AgainError
from again_tf.models.outputs import ModelOutputs, main_logits


class EvaluationError(AgainError):
    """The model or the request cannot be evaluated; the message says why and what to do."""


@dataclass(frozen=True)
class EvalTarget:
    """``outputs_fn(images)`` runs the model in inference mode (BN moving statistics,
    predicted-label ASE masks) and returns logits or ``ModelOutputs`` with auxiliary logits.
    ``surrogates``: ``(name, outputs_fn)`` of differentiable stand-ins of the same weights (soft
    masks for argmax ones) that the ``transfer`` attacks attack and score on ``outputs_fn``."""

    outputs_fn: Callable
    image_shape: tuple[int, int, int]
    num_classes: int
    beta_aux: float = AgainConfig.beta_aux  # weight of the auxiliary heads in the adaptive attack loss
    description: str = ""
    surrogates: tuple[tuple[str, Callable], ...] = ()

    def logits(self, images) -> tf.Tensor:
        return main_logits(self.outputs_fn(images))

    def correct(self, x, y) -> np.ndarray:
        """1 where the deployed model classifies ``x`` as ``y`` (int8, a per-example column)."""
        return correct_predictions(self.logits(x), y).numpy().astype(np.int8)

    def aux_sites(self) -> int:
        """How many auxiliary (ASE) heads the model has."""
        outputs = self.outputs_fn(tf.zeros((1, *self.image_shape)))
        return len(outputs.aux_logits) if isinstance(outputs, ModelOutputs) else 0

    def has_aux(self) -> bool:
        return self.aux_sites() > 0

    def check_images(self, shape) -> None:
        if tuple(shape[1:]) != tuple(self.image_shape):
            raise EvaluationError(
                f"the model takes images of shape {tuple(self.image_shape)} but the data has "
                f"{tuple(shape[1:])}; evaluate on the data set the model was trained on (--dataset)."
            )


def keras_target(model, image_shape, beta_aux: float | None = None, description: str = "",
                 surrogates: tuple = ()) -> EvalTarget:
    """An AgainModel (``forward`` gives the auxiliary logits) or any Keras classifier; ``beta_aux``
    defaults to the model's own (the weight it was trained with)."""
    if hasattr(model, "forward"):
        fn = lambda images: model.forward(images, training=False)
    else:
        fn = lambda images: model(images, training=False)
    shape = tuple(int(d) for d in image_shape)
    num_classes = int(main_logits(fn(tf.zeros((1, *shape)))).shape[-1])
    if beta_aux is None:
        beta_aux = getattr(model, "beta_aux", AgainConfig.beta_aux)
    return EvalTarget(fn, shape, num_classes, float(beta_aux), description, tuple(surrogates))


def saved_model_target(path: str | Path, signature: str = "serving_default") -> EvalTarget:
    """The ``images`` -> ``logits`` signature of an exported SavedModel (no auxiliary heads:
    the adaptive attack through them needs the Keras checkpoint)."""
    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError) as err:
        raise EvaluationError(f"{path}: not a loadable SavedModel ({err}).") from None
    if signature not in loaded.signatures:
        raise EvaluationError(f"{path}: no signature {signature!r}; it has "
                              f"{sorted(loaded.signatures) or 'none'}. Export with serving.export.")
    fn = loaded.signatures[signature]
    specs = fn.structured_input_signature[1]
    floats = [(k, s) for k, s in specs.items() if s.dtype == tf.float32 and s.shape.rank == 4]
    if len(floats) != 1 or "logits" not in fn.structured_outputs:
        raise EvaluationError(
            f"{path}: signature {signature!r} must take one float32 [N, H, W, C] image input and "
            f"return 'logits'; it takes {dict(specs)} and returns {sorted(fn.structured_outputs)}."
        )
    name, spec = floats[0]

    def call(images, _keep_alive=loaded):  # the signature's variables live as long as ``loaded``
        return fn(**{name: tf.convert_to_tensor(images, tf.float32)})["logits"]

    shape = tuple(spec.shape[1:])
    if None in shape:
        raise EvaluationError(f"{path}: the image input has an unknown shape {spec.shape}.")
    return EvalTarget(call, shape, int(fn.structured_outputs["logits"].shape[-1]),
                      description=f"SavedModel {path}")
