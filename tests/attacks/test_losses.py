import numpy as np
import tensorflow as tf

from again_tf.attacks import cross_entropy, cw_margin, kl_divergence

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
