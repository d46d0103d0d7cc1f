"""LBGAT's loss: MSE to the guide's clean logits + the guide's CE + beta * TRADES' KL, by hand."""

import numpy as np

from again_tf.objectives import lbgat_terms
from tests.objectives.helpers import ADV, CLEAN, GUIDE, Y, ce, softmax


def test_lbgat_terms_by_hand():
    p, q = softmax(CLEAN), softmax(ADV)
    kl = (p * np.log(p / q)).sum(1)
    mse = ((ADV - GUIDE) ** 2).mean(1)
    terms = lbgat_terms(ADV, CLEAN, GUIDE, Y, beta=6.0)
    np.testing.assert_allclose(terms["mse"].numpy(), mse, rtol=1e-6)
    np.testing.assert_allclose(terms["ce_guide"].numpy(), ce(GUIDE, Y), rtol=1e-6)
    np.testing.assert_allclose(terms["loss"].numpy(), mse + ce(GUIDE, Y) + 6.0 * kl, rtol=1e-5)
    # PyTorch's MSELoss() averages over batch and classes: the batch mean of our per-example term.
    np.testing.assert_allclose(terms["mse"].numpy().mean(), ((ADV - GUIDE) ** 2).mean(), rtol=1e-6)
