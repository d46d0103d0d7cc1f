import numpy as np
import tensorflow as tf

from again_tf.layers.site import AgainSite
from tests.test_case import check_config_round_trip, check_eager_and_graph, check_saved_model_round_trip


def test_hff_then_ase_and_optional_parts():
    a, y = tf.random.normal((6, 3, 3, 4)), tf.constant([0, 1, 2, 0, 1, 2])
    both = AgainSite(3, use_ase=True, use_hff=True)
    out, aux = both(a, labels=y, training=True)
    assert out.shape == a.shape and aux.shape == (6, 3)
    hff_only = AgainSite(3, use_ase=False, use_hff=True)
    out, aux = hff_only(a, training=False)
    assert aux is None
    np.testing.assert_array_equal(out.numpy(), a.numpy())


def test_keras_layer_contract(tmp_path):
    a = tf.random.normal((4, 3, 3, 4))
    site = AgainSite(5, alpha=0.8, use_hff=True, hff_probability=0.5)
    check_config_round_trip(site)
    check_eager_and_graph(site, a)
    check_saved_model_round_trip(AgainSite(5, use_hff=True), a, tmp_path)
