"""PGD-AT (Madry et al. 2018): cross-entropy on PGD examples."""

from __future__ import annotations

from again_tf.attacks.losses import cross_entropy
from again_tf.methods.base import Method
from again_tf.objectives.pgd_at import pgd_at_loss


class PGDAT(Method):
    name = "pgd_at"

    def head_terms(self, logits_adv, logits_clean, labels, **extra):
        return {"loss": pgd_at_loss(logits_adv, labels)}

    def attack_head_loss(self, logits_adv, labels, reference_logits):
        return cross_entropy(logits_adv, labels)
