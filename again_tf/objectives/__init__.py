"""Adversarial-training objectives (spec section 3), AWP, and the seed's other baselines."""

from again_tf.objectives.base import Objective
from again_tf.objectives.fat import FAT, FATTRADES
from again_tf.objectives.las_at import LASAT, smoothed_cross_entropy
from again_tf.objectives.lbgat import LBGAT, lbgat_terms
from again_tf.objectives.mart import MART, mart_terms
from again_tf.objectives.pgd_at import PGDAT, pgd_at_loss
from again_tf.objectives.trades import TRADES, trades_terms

OBJECTIVES = ("pgd_at", "trades", "mart", "fat", "fat_trades", "lbgat", "las_at")


def make_objective(method: str, beta_aux: float = 2.0, attack_aux: bool = True,
                   trades_beta: float = 6.0, mart_lambda: float = 6.0,
                   fat_tau_boundaries: tuple[int, ...] = (), fat_omega: float = 0.001,
                   lbgat_beta: float = 0.0, las: dict | None = None) -> Objective:
    """The objective of a method; AGAIN's aux terms apply when the model has ASE sites.
    ``fat_tau_boundaries`` are optimizer steps (the config's epoch milestones times steps/epoch);
    ``las`` holds LASAT's keyword arguments."""
    aux = {"beta_aux": beta_aux, "attack_aux": attack_aux}
    if method == "pgd_at":
        return PGDAT(**aux)
    if method == "trades":
        return TRADES(beta=trades_beta, **aux)
    if method == "mart":
        return MART(lam=mart_lambda, **aux)
    if method == "fat":
        return FAT(tau_boundaries=fat_tau_boundaries, omega=fat_omega, **aux)
    if method == "fat_trades":
        return FATTRADES(tau_boundaries=fat_tau_boundaries, omega=fat_omega, beta=trades_beta, **aux)
    if method == "lbgat":
        return LBGAT(beta=lbgat_beta, **aux)
    if method == "las_at":
        return LASAT(**(las or {}), **aux)
    raise ValueError(f"Unknown method {method!r}; allowed: {list(OBJECTIVES)}.")


__all__ = [
    "FAT", "FATTRADES", "LASAT", "LBGAT", "MART", "OBJECTIVES", "PGDAT", "TRADES", "Objective",
    "lbgat_terms", "make_objective", "mart_terms", "pgd_at_loss", "smoothed_cross_entropy",
    "trades_terms",
]
