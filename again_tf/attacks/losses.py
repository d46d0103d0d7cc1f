"""Per-example attack losses (to be maximised), functions of logits."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.per_example import as_labels
from again_tf.models.outputs import dual, main_logits, per_head


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=as_labels(labels), logits=logits
    )


def cw_margin(logits: tf.Tensor, labels: tf.Tensor, kappa: float = float("inf")) -> tf.Tensor:
    """``min(max_{j != y} z_j - z_y, kappa)``: Carlini-Wagner's margin; kappa caps the push."""
    labels = as_labels(labels)
    one_hot = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
    true = tf.reduce_sum(one_hot * logits, axis=-1)
    other = tf.reduce_max(logits - one_hot * 1e9, axis=-1)
    return tf.minimum(other - true, kappa)


def kl_divergence(logits: tf.Tensor, reference_probs: tf.Tensor) -> tf.Tensor:
    """KL(p_ref || softmax(logits)) summed over classes (TRADES' ``KLDivLoss(reduction='sum')``)."""
    log_p = tf.nn.log_softmax(logits, axis=-1)
    ref = tf.cast(reference_probs, logits.dtype)
    return tf.reduce_sum(ref * (tf.math.log(ref + 1e-12) - log_p), axis=-1)


def kl_from_logits(logits: tf.Tensor, reference_logits: tf.Tensor) -> tf.Tensor:
    """KL(softmax(reference) || softmax(logits)) from both sides' log-softmax, so equal logits give
    exactly 0 (``kl_divergence``'s ``log(p + 1e-12)`` leaves a ~1e-7 floor)."""
    log_ref = tf.nn.log_softmax(tf.cast(reference_logits, logits.dtype), axis=-1)
    log_p = tf.nn.log_softmax(logits, axis=-1)
    return tf.reduce_sum(tf.exp(log_ref) * (log_ref - log_p), axis=-1)


def _true_logit(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    labels = as_labels(labels)
    return tf.gather(logits, labels, axis=-1, batch_dims=1)


def dlr(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Difference of logits ratio (Croce & Hein, ICML 2020), to be maximised:
    ``-(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3)``, pi sorting the logits in decreasing order.

    Invariant to shifting and rescaling the logits, so a saturated softmax cannot mask the gradient.
    """
    top = tf.math.top_k(logits, k=3).values
    return cw_margin(logits, labels) / (top[:, 0] - top[:, 2] + 1e-12)  # cw_margin = max_{j!=y} z_j - z_y


def dlr_targeted(logits: tf.Tensor, labels: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Targeted DLR (Croce & Hein, ICML 2020), APGD-T's loss:
    ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)``."""
    top = tf.math.top_k(logits, k=4).values
    margin = _true_logit(logits, labels) - _true_logit(logits, targets)
    return -margin / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


LOSSES = {"ce": cross_entropy, "cw": cw_margin, "kl": kl_divergence, "dlr": dlr}


def resolve_loss(loss):
    """A loss name applies to the main logits; a callable gets the model's raw outputs."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"Unknown attack loss {loss!r}; allowed: {sorted(LOSSES)} or a callable.")
    fn = LOSSES[loss]
    return lambda outputs, target: fn(main_logits(outputs), target)


LogitLoss = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def on_main_head(loss: LogitLoss) -> Callable:
    """``loss`` of the main logits, for a model_fn that may return ``ModelOutputs``."""
    return lambda outputs, labels: loss(main_logits(outputs), labels)


def through_aux_heads(loss: LogitLoss, beta_aux: float) -> Callable:
    """The adaptive loss of a model with ASE: ``loss(main) + beta_aux * mean over sites of
    loss(aux_site)``, the authors' PGD loss. At inference the masks follow the auxiliary heads'
    argmax, which has no gradient, so the main head's loss alone can miss the easiest way to flip
    the prediction: flip the mask. Without auxiliary heads it is ``loss(main)``."""
    return lambda outputs, labels: dual(*per_head(lambda logits: loss(logits, labels), outputs), beta_aux)
