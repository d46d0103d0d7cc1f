"""Attacks as plain functions of tensors: ``attack(model_fn, x, y, eps=..., ...)``."""

from again_tf.attacks.apgd import apgd, apgd_targeted
from again_tf.attacks.autoattack import AutoAttackResult, autoattack
from again_tf.attacks.fab import fab_targeted
from again_tf.attacks.losses import LOSSES, cross_entropy, cw_margin, dlr, dlr_targeted, kl_divergence
from again_tf.attacks.pgd import fgsm, pgd
from again_tf.attacks.square import square
from again_tf.attacks.threat import INITS, NORMS, L2Ball, LinfBall, make_threat

__all__ = [
    "INITS", "LOSSES", "NORMS", "AutoAttackResult", "L2Ball", "LinfBall", "apgd", "apgd_targeted",
    "autoattack", "cross_entropy", "cw_margin", "dlr", "dlr_targeted", "fab_targeted", "fgsm",
    "kl_divergence", "make_threat", "pgd", "square",
]
