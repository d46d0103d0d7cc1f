import numpy as np
import tensorflow as tf

from again_tf.attacks.losses import cross_entropy
from again_tf.evaluation import on_main_head, through_aux_heads
from again_tf.models.outputs import ModelOutputs


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
