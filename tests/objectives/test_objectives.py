import numpy as np
import pytest
import tensorflow as tf

from again_tf.models.outputs import ModelOutputs
from again_tf.objectives import MART, PGDAT, TRADES, make_objective, mart_terms, trades_terms

CLEAN = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], np.float32)
ADV = np.array([[0.5, 1.0, -0.5], [1.0, 0.0, 2.0]], np.float32)
Y = np.array([0, 1])


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _ce(z, y):
    return -np.log(_softmax(z)[np.arange(len(y)), y])


def test_pgd_at_is_cross_entropy_on_adversarial_logits():
    terms = PGDAT().loss_terms(ModelOutputs(tf.constant(ADV)), None, Y)
    np.testing.assert_allclose(terms["loss"].numpy(), _ce(ADV, Y), rtol=1e-6)


def test_trades_by_hand():
    p, q = _softmax(CLEAN), _softmax(ADV)
    kl = (p * np.log(p / q)).sum(1)
    terms = trades_terms(CLEAN, ADV, Y, beta=6.0)
    np.testing.assert_allclose(terms["kl"].numpy(), kl, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"].numpy(), _ce(CLEAN, Y) + 6.0 * kl, rtol=1e-5)


def test_mart_matches_the_reference_formulas():
    """The MART release: argsort runner-up, log(1.0001 - p + 1e-12), (1.0000001 - p_y) weight."""
    p_adv, p_nat = _softmax(ADV), _softmax(CLEAN)
    top2 = np.argsort(p_adv, axis=1)[:, -2:]
    new_y = np.where(top2[:, -1] == Y, top2[:, -2], top2[:, -1])
    bce = _ce(ADV, Y) - np.log(1.0001 - p_adv[np.arange(2), new_y] + 1e-12)
    kl = (p_nat * (np.log(p_nat + 1e-12) - np.log(p_adv + 1e-12))).sum(1)
    weighted = kl * (1.0000001 - p_nat[np.arange(2), Y])
    terms = mart_terms(CLEAN, ADV, Y, lam=6.0)
    np.testing.assert_allclose(terms["bce"].numpy(), bce, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"].numpy(), bce + 6.0 * weighted, rtol=1e-5)
    # The batch loss of the release is the mean of these per-example terms.
    np.testing.assert_allclose(terms["loss"].numpy().mean(), bce.mean() + 6.0 * weighted.sum() / 2, rtol=1e-5)


def test_dual_loss_adds_beta_aux_times_the_mean_over_sites():
    aux1, aux2 = ADV * 0.5, CLEAN
    adv = ModelOutputs(tf.constant(ADV), (tf.constant(aux1), tf.constant(aux2)))
    terms = PGDAT(beta_aux=2.0).loss_terms(adv, None, Y)
    aux = (_ce(aux1, Y) + _ce(aux2, Y)) / 2
    np.testing.assert_allclose(terms["loss_aux"].numpy(), aux, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"].numpy(), _ce(ADV, Y) + 2.0 * aux, rtol=1e-5)


def test_trades_and_mart_give_the_aux_heads_their_own_terms():
    adv = ModelOutputs(tf.constant(ADV), (tf.constant(ADV * 2),))
    clean = ModelOutputs(tf.constant(CLEAN), (tf.constant(CLEAN * 2),))
    cases = ((TRADES(beta=6.0, beta_aux=1.5), trades_terms), (MART(lam=6.0, beta_aux=1.5), mart_terms))
    for objective, fn in cases:
        terms = objective.loss_terms(adv, clean, Y)
        aux = fn(CLEAN * 2, ADV * 2, Y, 6.0)["loss"].numpy()
        main = fn(CLEAN, ADV, Y, 6.0)["loss"].numpy()
        np.testing.assert_allclose(terms["loss"].numpy(), main + 1.5 * aux, rtol=1e-5)


def test_attack_loss_goes_through_the_aux_heads_when_asked():
    adv = ModelOutputs(tf.constant(ADV), (tf.constant(CLEAN),))
    with_aux = PGDAT(beta_aux=2.0, attack_aux=True).attack_loss(adv, Y)
    without = PGDAT(beta_aux=2.0, attack_aux=False).attack_loss(adv, Y)
    np.testing.assert_allclose(with_aux.numpy(), _ce(ADV, Y) + 2.0 * _ce(CLEAN, Y), rtol=1e-5)
    np.testing.assert_allclose(without.numpy(), _ce(ADV, Y), rtol=1e-5)


def test_trades_attack_maximises_kl_to_the_clean_reference():
    reference = ModelOutputs(tf.constant(CLEAN))
    loss = TRADES().attack_loss(ModelOutputs(tf.constant(ADV)), Y, reference)
    p, q = _softmax(CLEAN), _softmax(ADV)
    np.testing.assert_allclose(loss.numpy(), (p * np.log(p / q)).sum(1), rtol=1e-5)


def test_make_objective_names_the_allowed_methods():
    assert make_objective("mart").name == "mart"
    with pytest.raises(ValueError, match="pgd_at"):
        make_objective("las_vegas")
