"""LBGAT (Cui et al., ICCV 2021, "Learnable boundary guided adversarial training").

A guide network, trained on clean data jointly with the robust one (same optimizer, same
schedule), anchors the robust model's logits on x_adv to its own logits on x:

    loss = MSE(F_rob(x_adv), F_guide(x)) + CE(F_guide(x), y) + beta * KL(F_rob(x) || F_rob(x_adv))

The MSE is the mean over classes (PyTorch's ``MSELoss`` averages over batch and classes; we
average over the batch later) and its gradient reaches both networks. beta = 0 is "LBGAT0", the
original's CIFAR-10 setting. ``again_tf.methods.lbgat`` has the method (the attack, the passes).
"""

from __future__ import annotations

import tensorflow as tf

from again_tf.attacks.losses import cross_entropy, kl_from_logits


def lbgat_terms(logits_adv: tf.Tensor, logits_clean: tf.Tensor | None, guide_logits: tf.Tensor,
                labels: tf.Tensor, beta: float = 0.0) -> dict[str, tf.Tensor]:
    """Per-example ``mse``, ``ce_guide``, ``kl`` (0 when ``logits_clean`` is None) and ``loss``."""
    mse = tf.reduce_mean(tf.square(logits_adv - guide_logits), axis=-1)
    ce_guide = cross_entropy(guide_logits, labels)
    kl = tf.zeros_like(mse) if logits_clean is None else \
        kl_from_logits(logits_adv, logits_clean)
    return {"mse": mse, "ce_guide": ce_guide, "kl": kl, "loss": mse + ce_guide + beta * kl}
