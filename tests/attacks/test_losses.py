import numpy as np
import tensorflow as tf

from again_tf.attacks import LOSSES, cross_entropy, cw_margin, dlr, dlr_targeted, kl_divergence
from again_tf.attacks.losses import kl_from_logits, on_main_head, resolve_loss, through_aux_heads
from again_tf.models.outputs import ModelOutputs

LOGITS = np.array([[2.0, 1.0, 0.0], [0.5, 0.5, 3.0]], np.float32)
LABELS = np.array([0, 1])


def test_cross_entropy_by_hand():
    expected = [-np.log(np.exp(2) / (np.exp(2) + np.exp(1) + 1)),
                -np.log(np.exp(0.5) / (2 * np.exp(0.5) + np.exp(3)))]
    np.testing.assert_allclose(cross_entropy(LOGITS, LABELS).numpy(), expected, rtol=1e-6)


def test_cw_margin_by_hand_and_kappa_cap():
    np.testing.assert_allclose(cw_margin(LOGITS, LABELS).numpy(), [1.0 - 2.0, 3.0 - 0.5])
    np.testing.assert_allclose(cw_margin(LOGITS, LABELS, kappa=0.0).numpy(), [-1.0, 0.0])


def test_kl_is_zero_on_itself_and_matches_numpy():
    p = tf.nn.softmax(LOGITS).numpy()
    np.testing.assert_allclose(kl_divergence(LOGITS, p).numpy(), [0.0, 0.0], atol=1e-6)
    q_logits = LOGITS[::-1].copy()
    q = tf.nn.softmax(q_logits).numpy()
    np.testing.assert_allclose(kl_divergence(q_logits, p).numpy(), (p * np.log(p / q)).sum(1), rtol=1e-5)


def test_kl_from_logits_is_exactly_zero_on_itself_and_matches_numpy():
    assert kl_from_logits(LOGITS, LOGITS).numpy().tolist() == [0.0, 0.0]
    q_logits = LOGITS[::-1].copy()
    p, q = tf.nn.softmax(LOGITS).numpy(), tf.nn.softmax(q_logits).numpy()
    expected = (p * np.log(p / q)).sum(1)
    np.testing.assert_allclose(kl_from_logits(q_logits, LOGITS).numpy(), expected, rtol=1e-5)


LOGITS4 = np.array([[3.0, 1.0, 0.5, -1.0], [0.0, 2.0, 1.0, 4.0]], np.float32)


def test_dlr_by_hand():
    # Row 0: y = 0 leads, runner-up 1, third 0.5: -(3 - 1) / (3 - 0.5). Row 1: y = 1 (2.0) trails
    # class 3 (4.0), sorted 4, 2, 1, 0: -(2 - 4) / (4 - 1).
    np.testing.assert_allclose(dlr(LOGITS4, [0, 1]).numpy(), [-0.8, 2.0 / 3.0], rtol=1e-6)


def test_dlr_targeted_by_hand():
    # Row 0, target 2: -(3 - 0.5) / (3 - (0.5 - 1) / 2). Row 1, target 3: -(2 - 4) / (4 - (1 + 0) / 2).
    np.testing.assert_allclose(dlr_targeted(LOGITS4, [0, 1], [2, 3]).numpy(), [-2.5 / 3.25, 2.0 / 3.5],
                               rtol=1e-6)


def test_dlr_ignores_shift_and_scale_of_the_logits():
    logits = tf.random.Generator.from_seed(0).normal((8, 10))
    labels = tf.range(8) % 10
    np.testing.assert_allclose(dlr(7.0 * logits - 3.0, labels).numpy(), dlr(logits, labels).numpy(),
                               rtol=1e-4, atol=1e-6)


def test_dlr_is_a_named_loss_of_the_main_logits():
    outputs = ModelOutputs(tf.constant(LOGITS4), (tf.zeros((2, 4)),))
    np.testing.assert_allclose(resolve_loss("dlr")(outputs, [0, 1]).numpy(), [-0.8, 2.0 / 3.0], rtol=1e-6)
    assert LOSSES["dlr"] is dlr


def _ce(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def test_loss_through_aux_heads_is_main_plus_beta_times_the_site_mean():
    rng = np.random.default_rng(0)
    main, aux1, aux2 = (rng.normal(size=(4, 5)).astype(np.float32) for _ in range(3))
    y = np.array([0, 3, 1, 4])
    outputs = ModelOutputs(tf.constant(main), (tf.constant(aux1), tf.constant(aux2)))
    got = through_aux_heads(cross_entropy, 2.0)(outputs, tf.constant(y)).numpy()
    want = _ce(main, y) + 2.0 * (_ce(aux1, y) + _ce(aux2, y)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(on_main_head(cross_entropy)(outputs, tf.constant(y)).numpy(), _ce(main, y),
                               rtol=1e-5)


def test_plain_logits_have_no_aux_term():
    logits = tf.constant([[1.0, 0.0], [0.0, 3.0]])
    y = tf.constant([0, 0])
    np.testing.assert_allclose(through_aux_heads(cross_entropy, 2.0)(logits, y).numpy(),
                               cross_entropy(logits, y).numpy())
