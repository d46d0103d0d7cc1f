"""Does the main head classify the image, or read the label off the ASE mask?

In training the ASE mask is built from the true label (spec section 1), so the layers after a
site can learn to decode the label from the mask instead of the image; at inference the mask
comes from the site's own ``argmax``, and the model's decision is then that auxiliary head's.
Two measurements tell the cases apart:

* ``agreement``: per site, the share of images on which the inference-mode main head predicts
  what the site's auxiliary head predicts, also on the site's errors (a main head that looks at
  the image disagrees with a wrong mask now and then);
* ``follows_mask``: the training-mode forward with every mask built from a wrong label: the share
  of images on which the main head predicts that label (near 1: it reads the mask) and the share
  on which it still predicts the true one (``true_under_wrong_mask``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from again_tf import randomness


@dataclass(frozen=True)
class MaskDependence:
    agreement: tuple[float, ...]  # per site, main == aux on all images
    agreement_on_errors: tuple[float, ...]  # per site, main == aux where aux is wrong (NaN: none)
    follows_mask: float
    true_under_wrong_mask: float


def wrong_labels(labels: np.ndarray, num_classes: int, seed: int = 0) -> np.ndarray:
    """A label different from each true one, uniform over the other classes."""
    shift = np.random.default_rng(seed).integers(1, num_classes, size=labels.shape)
    return (labels + shift) % num_classes


def _predictions(model, x, labels, batch_size: int, seed: int = 0):
    """Argmax of the main and the aux heads, in inference mode (``labels`` None) or in training
    mode with masks from ``labels``, batch by batch (a WRN on 10,000 images does not fit at once).
    The training-mode draws (ASE's random labels, HFF) are keyed by ``(seed, batch)``, so the
    measurement repeats exactly."""
    main, aux = [], []
    for start in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(x[start:start + batch_size])
        if labels is None:
            out = model.forward(xb, training=False)
        else:
            with randomness.step_seed(tf.constant([seed, start], tf.int64)):
                out = model.forward(xb, labels=labels[start:start + batch_size], training=True)
        main.append(np.argmax(out.logits, -1))
        aux.append([np.argmax(a, -1) for a in out.aux_logits])
    return np.concatenate(main), [np.concatenate(site) for site in zip(*aux)]


def _forced_predictions(model, x, labels, batch_size: int, seed: int) -> np.ndarray:
    """The main head in training mode with masks from ``labels``; the BN moving statistics that
    the training-mode pass updates are put back: the measurement must not change the model."""
    saved = model.batchnorm_statistics()
    try:
        return _predictions(model, x, labels, batch_size, seed)[0]
    finally:
        model.restore_batchnorm_statistics(saved)


def mask_dependence(model, x: np.ndarray, y: np.ndarray, seed: int = 0,
                    batch_size: int = 500) -> MaskDependence:
    """The two measurements on images ``x`` with labels ``y``, for a model with ASE sites."""
    main, sites = _predictions(model, x, None, batch_size)
    if not sites:
        raise ValueError("the model has no ASE site: its main head has no mask to read.")
    agreement, on_errors = [], []
    for aux in sites:
        agreement.append(float(np.mean(main == aux)))
        wrong = aux != y
        on_errors.append(float(np.mean(main[wrong] == aux[wrong])) if wrong.any() else float("nan"))
    fake = wrong_labels(y, model.num_classes, seed)
    forced = _forced_predictions(model, x, fake, batch_size, seed)
    return MaskDependence(tuple(agreement), tuple(on_errors), float(np.mean(forced == fake)),
                          float(np.mean(forced == y)))
