"""PGD-AT (Madry et al. 2018): cross-entropy on PGD examples."""

from __future__ import annotations

from again_tf.attacks.losses import cross_entropy
from again_tf.objectives.base import Objective


def pgd_at_loss(logits_adv, labels):
    """Per-example CE(F(x_adv), y)."""
    return cross_entropy(logits_adv, labels)


class PGDAT(Objective):
    name = "pgd_at"
    term_names = ()

    def base_terms(self, logits_adv, logits_clean, labels, guide_logits=None):
        return {"loss": pgd_at_loss(logits_adv, labels)}

    def attack_base(self, logits_adv, labels, reference_logits):
        return cross_entropy(logits_adv, labels)
