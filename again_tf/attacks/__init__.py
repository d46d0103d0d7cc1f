"""Attacks as plain functions of tensors: ``attack(model_fn, x, y, eps=..., ...)``."""

from again_tf.attacks.losses import LOSSES, cross_entropy, cw_margin, kl_divergence
from again_tf.attacks.pgd import fgsm, pgd
from again_tf.attacks.threat import INITS, NORMS, L2Ball, LinfBall, make_threat

__all__ = [
    "INITS", "LOSSES", "NORMS", "L2Ball", "LinfBall", "cross_entropy", "cw_margin", "fgsm",
    "kl_divergence", "make_threat", "pgd",
]
