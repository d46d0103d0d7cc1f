"""TRADES (Zhang et al. 2019): CE on clean inputs plus beta * KL(F(x) || F(x_adv)); the attack
maximises the KL from F(x)."""

from __future__ import annotations

from again_tf import randomness
from again_tf.methods.base import Method, Passes
from again_tf.objectives.trades import kl_attack_loss, trades_terms


class CleanPass:
    """Mixin for methods whose loss reads F(x) in training mode as well as F(x_adv)."""

    def forward(self, model, x, x_adv, y, training):
        with randomness.shared_draws(self.paired_draws) as again:
            adv = model.adversarial_pass(x_adv, y, x, training)
            again()
            return Passes(adv, model.forward(x, y, training=training))


class KLAttack:
    """Mixin: TRADES' attack, KL(F(x) || F(x_adv)) maximised from x + 0.001 N(0, 1)."""

    default_init = "normal"

    def attack_reference(self, model, x):
        return model.forward(x, training=False)

    def attack_head_loss(self, logits_adv, labels, reference_logits):
        return kl_attack_loss(logits_adv, reference_logits)


class TRADES(KLAttack, CleanPass, Method):
    name = "trades"
    term_names = ("ce_clean", "kl")
    options = {"beta": "trades_beta"}

    def __init__(self, *args, beta: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = float(beta)

    def head_terms(self, logits_adv, logits_clean, labels, **extra):
        return trades_terms(logits_clean, logits_adv, labels, self.beta)
