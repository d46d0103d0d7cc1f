"""The base method's AGAIN part (the dual loss over the heads, the attack through them) and the
registry, with PGD-AT as the concrete method."""

import numpy as np
import pytest
import tensorflow as tf

from again_tf.config import get_preset, register_method, with_method
from again_tf.config import methods as registry
from again_tf.config.methods import method_entry, method_names
from again_tf.errors import ConfigError
from again_tf.methods import Passes, build_method
from again_tf.methods.pgd_at import PGDAT
from again_tf.models.outputs import ModelOutputs
from tests.methods.helpers import make
from tests.objectives.helpers import ADV, CLEAN, Y, ce


def test_pgd_at_is_cross_entropy_on_adversarial_logits():
    terms = make(PGDAT).terms(Passes(ModelOutputs(tf.constant(ADV))), Y)
    np.testing.assert_allclose(terms["loss"].numpy(), ce(ADV, Y), rtol=1e-6)
    assert "loss_aux" not in terms


def test_dual_loss_adds_beta_aux_times_the_mean_over_sites():
    aux1, aux2 = ADV * 0.5, CLEAN
    adv = ModelOutputs(tf.constant(ADV), (tf.constant(aux1), tf.constant(aux2)))
    terms = make(PGDAT, beta_aux=2.0).terms(Passes(adv), Y)
    aux = (ce(aux1, Y) + ce(aux2, Y)) / 2
    np.testing.assert_allclose(terms["loss_aux"].numpy(), aux, rtol=1e-5)
    np.testing.assert_allclose(terms["loss_base"].numpy(), ce(ADV, Y), rtol=1e-5)
    np.testing.assert_allclose(terms["loss"].numpy(), ce(ADV, Y) + 2.0 * aux, rtol=1e-5)


def test_attack_loss_goes_through_the_aux_heads_when_asked():
    adv = ModelOutputs(tf.constant(ADV), (tf.constant(CLEAN),))
    with_aux = make(PGDAT, beta_aux=2.0, attack_aux=True).attack_loss(None)(adv, Y)
    without = make(PGDAT, beta_aux=2.0, attack_aux=False).attack_loss(None)(adv, Y)
    np.testing.assert_allclose(with_aux.numpy(), ce(ADV, Y) + 2.0 * ce(CLEAN, Y), rtol=1e-5)
    np.testing.assert_allclose(without.numpy(), ce(ADV, Y), rtol=1e-5)


def test_from_config_reads_the_attack_and_agains_weight():
    config = with_method(get_preset("quickstart"), "again_trades")
    method = build_method(config, steps_per_epoch=10)
    assert (method.attack.eps, method.attack.steps, method.attack.init) == (0.1, 2, "normal")
    assert method.beta_aux == config.again.beta_aux and method.beta == config.objective.trades_beta


@pytest.fixture
def scratch_registry(monkeypatch):
    """Methods registered by a test are gone after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_an_unknown_method_is_refused_with_the_registered_names(scratch_registry):
    with pytest.raises(ConfigError, match="objective.method: got 'las_vegas'; allowed: pgd_at, trades"):
        method_entry("las_vegas")
    with pytest.raises(ConfigError, match="does not start with again, awp or cas"):
        register_method("again_toy", PGDAT)


def test_a_registered_method_gets_the_wrapper_names_unless_standalone(scratch_registry):
    register_method("plain_copy", PGDAT)
    register_method("solo_copy", PGDAT, standalone=True)
    names = method_names()
    assert {"plain_copy", "again_plain_copy", "awp_plain_copy", "cas_plain_copy", "solo_copy"} <= set(names)
    assert "again_solo_copy" not in names
    assert method_entry("plain_copy").load() is PGDAT
