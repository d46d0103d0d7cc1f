"""Adversarial-training objectives (spec section 3) and AWP."""

from again_tf.objectives.base import Objective
from again_tf.objectives.mart import MART, mart_terms
from again_tf.objectives.pgd_at import PGDAT, pgd_at_loss
from again_tf.objectives.trades import TRADES, trades_terms

BASE_METHODS = ("pgd_at", "trades", "mart")


def make_objective(method: str, beta_aux: float = 2.0, attack_aux: bool = True,
                   trades_beta: float = 6.0, mart_lambda: float = 6.0) -> Objective:
    """The objective of a base method; AGAIN's aux terms apply when the model has ASE sites."""
    if method == "pgd_at":
        return PGDAT(beta_aux=beta_aux, attack_aux=attack_aux)
    if method == "trades":
        return TRADES(beta=trades_beta, beta_aux=beta_aux, attack_aux=attack_aux)
    if method == "mart":
        return MART(lam=mart_lambda, beta_aux=beta_aux, attack_aux=attack_aux)
    raise ValueError(f"Unknown base method {method!r}; allowed: {list(BASE_METHODS)}.")


__all__ = [
    "BASE_METHODS", "MART", "PGDAT", "TRADES", "Objective", "make_objective", "mart_terms",
    "pgd_at_loss", "trades_terms",
]
