"""Attacks as plain functions of tensors: ``attack(model_fn, x, y, eps=..., ...)``."""

from again_tf.attacks.apgd import apgd, apgd_targeted
from again_tf.attacks.autoattack import AutoAttackResult, autoattack
from again_tf.attacks.budget_pgd import budget_pgd
from again_tf.attacks.cascade import cascade, correct_predictions
from again_tf.attacks.fab import fab_targeted
from again_tf.attacks.losses import (
    LOSSES,
    cross_entropy,
    cw_margin,
    dlr,
    dlr_targeted,
    kl_divergence,
    kl_from_logits,
    on_main_head,
    through_aux_heads,
)
from again_tf.attacks.pgd import PGDSettings, fgsm, pgd, pgd_through_heads
from again_tf.attacks.square import square
from again_tf.attacks.threat import NORMS, L2Ball, LinfBall, make_threat
from again_tf.attacks.training_pgd import training_pgd

__all__ = [
    "LOSSES", "NORMS", "AutoAttackResult", "L2Ball", "LinfBall", "PGDSettings", "apgd", "apgd_targeted",
    "autoattack", "budget_pgd", "cascade", "correct_predictions", "cross_entropy", "cw_margin", "dlr",
    "dlr_targeted", "fab_targeted", "fgsm", "kl_divergence", "kl_from_logits", "make_threat",
    "on_main_head", "pgd", "pgd_through_heads", "square", "through_aux_heads", "training_pgd",
]
