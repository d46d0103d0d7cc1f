"""Adversarial-training losses as plain per-example functions of logits (spec section 3), and
AWP's weight perturbation; ``again_tf.methods`` composes them with the attacks."""

from again_tf.objectives.las_at import smoothed_cross_entropy
from again_tf.objectives.lbgat import lbgat_terms
from again_tf.objectives.mart import mart_terms
from again_tf.objectives.pgd_at import pgd_at_loss
from again_tf.objectives.trades import kl_attack_loss, trades_terms

__all__ = [
    "kl_attack_loss", "lbgat_terms", "mart_terms", "pgd_at_loss", "smoothed_cross_entropy", "trades_terms",
]
