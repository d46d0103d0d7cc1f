import numpy as np
import tensorflow as tf

from again_tf import randomness
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


def test_mask_only_placement_lets_the_head_read_the_features_before_hff():
    """alpha 1: the mask is W[:, y] either way, so the outputs agree (same fused features under the
    same step seed) while the auxiliary logits come from the unfused features."""
    a, y = tf.random.normal((6, 3, 3, 4)), tf.constant([0, 1, 2, 0, 1, 2])
    spec = AgainSite(3, alpha=1.0, use_hff=True)
    mask_only = AgainSite(3, alpha=1.0, use_hff=True, hff_placement="mask_only")
    spec.build(a.shape)
    mask_only.build(a.shape)
    mask_only.set_weights(spec.get_weights())
    outputs = []
    for site in (spec, mask_only):
        with randomness.step_seed(tf.constant([1, 2], tf.int64)):
            outputs.append(site(a, labels=y, training=True))
    (out_spec, aux_spec), (out_mask_only, aux_mask_only) = outputs
    np.testing.assert_allclose(out_mask_only.numpy(), out_spec.numpy(), rtol=1e-6)
    kernel, bias = spec.ase.kernel.numpy(), spec.ase.bias.numpy()
    np.testing.assert_allclose(aux_mask_only.numpy(), a.numpy().mean(axis=(1, 2)) @ kernel + bias, rtol=1e-5)
    assert not np.allclose(aux_spec.numpy(), aux_mask_only.numpy())  # the spec's head reads fused features
    check_config_round_trip(AgainSite(3, use_hff=True, hff_placement="mask_only", mask_source="soft",
                                      mask_temperature=2.0))
