import numpy as np

from again_tf.objectives import mart_terms, trades_terms
from tests.objectives.helpers import ADV, CLEAN, Y, ce, softmax


def test_trades_by_hand():
    p, q = softmax(CLEAN), softmax(ADV)
    kl = (p * np.log(p / q)).sum(1)
    terms = trades_terms(CLEAN, ADV, Y, beta=6.0)
    np.testing.assert_allclose(terms["kl"].numpy(), kl, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"].numpy(), ce(CLEAN, Y) + 6.0 * kl, rtol=1e-5)


def test_mart_matches_the_reference_formulas():
    """The MART release: argsort runner-up, log(1.0001 - p + 1e-12), (1.0000001 - p_y) weight."""
    p_adv, p_nat = softmax(ADV), softmax(CLEAN)
    top2 = np.argsort(p_adv, axis=1)[:, -2:]
    new_y = np.where(top2[:, -1] == Y, top2[:, -2], top2[:, -1])
    bce = ce(ADV, Y) - np.log(1.0001 - p_adv[np.arange(2), new_y] + 1e-12)
    kl = (p_nat * (np.log(p_nat + 1e-12) - np.log(p_adv + 1e-12))).sum(1)
    weighted = kl * (1.0000001 - p_nat[np.arange(2), Y])
    terms = mart_terms(CLEAN, ADV, Y, lam=6.0)
    np.testing.assert_allclose(terms["bce"].numpy(), bce, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"].numpy(), bce + 6.0 * weighted, rtol=1e-5)
