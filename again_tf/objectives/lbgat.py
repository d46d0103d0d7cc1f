"""LBGAT (Cui et al., ICCV 2021, "Learnable boundary guided adversarial training").

A guide network, trained on clean data jointly with the robust one (same optimizer, same
schedule), anchors the robust model's logits on x_adv to its own logits on x:

    loss = MSE(F_rob(x_adv), F_guide(x)) + CE(F_guide(x), y) + beta * KL(F_rob(x) || F_rob(x_adv))

The MSE is the mean over classes (PyTorch's ``MSELoss`` averages over batch and classes; we
average over the batch later), its gradient reaches both networks, and x_adv comes from TRADES'
KL attack (start x + 0.001 N(0, 1)). beta = 0 is "LBGAT0", the original's CIFAR-10 setting;
the robust model still runs on x in training mode then, as the original does, so that its
BatchNorm statistics see clean batches as well as adversarial ones.
"""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy, kl_divergence
from again_tf.objectives.base import Objective
from again_tf.objectives.trades import kl_attack_loss


def lbgat_terms(logits_adv, logits_clean, guide_logits, labels, beta: float = 0.0):
    """Per-example ``mse``, ``ce_guide``, ``kl`` (0 when ``logits_clean`` is None) and ``loss``."""
    mse = tf.reduce_mean(tf.square(logits_adv - guide_logits), axis=-1)
    ce_guide = cross_entropy(guide_logits, labels)
    kl = tf.zeros_like(mse) if logits_clean is None else \
        kl_divergence(logits_adv, tf.nn.softmax(logits_clean, axis=-1))
    return {"mse": mse, "ce_guide": ce_guide, "kl": kl, "loss": mse + ce_guide + beta * kl}


class LBGAT(Objective):
    name = "lbgat"
    term_names = ("mse", "ce_guide", "kl")
    default_init = "normal"
    needs_attack_reference = True
    needs_guide = True
    needs_clean_forward = True  # for the KL term, and for BN statistics on clean data at beta 0

    def __init__(self, beta: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = float(beta)

    def base_terms(self, logits_adv, logits_clean, labels, guide_logits=None):
        if guide_logits is None:
            raise ValueError("LBGAT needs the guide network's logits on x (AgainModel passes them "
                             "when the model has a guide).")
        return lbgat_terms(logits_adv, logits_clean, guide_logits, labels, self.beta)

    def attack_base(self, logits_adv, labels, reference_logits):
        return kl_attack_loss(logits_adv, reference_logits)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
