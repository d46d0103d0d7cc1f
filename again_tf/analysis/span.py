"""How widely an attribution map is spread: AGAIN's "attribution span", as two numbers in (0, 1].

* ``mass_span``: the smallest fraction of pixels that holds ``mass`` (default 80%) of the
  absolute attribution. A model that looks at one small patch scores near 0; one that uses the
  whole image scores near ``mass``.
* ``effective_support``: ``exp(H(p)) / P`` with ``p`` the normalised absolute attribution over
  the ``P`` pixels: 1 for a uniform map, ``1 / P`` for a single pixel.
"""

from __future__ import annotations

import numpy as np


def _normalised(maps: np.ndarray) -> np.ndarray:
    flat = np.abs(np.asarray(maps, np.float64)).reshape(len(maps), -1)
    total = flat.sum(axis=1, keepdims=True)
    uniform = np.full_like(flat, 1.0 / flat.shape[1])
    return np.where(total > 0, flat / np.where(total > 0, total, 1.0), uniform)


def mass_span(maps: np.ndarray, mass: float = 0.8) -> np.ndarray:
    """Per map: fraction of pixels, largest first, needed to reach ``mass`` of the total."""
    if not 0.0 < mass <= 1.0:
        raise ValueError(f"mass must be in (0, 1], got {mass}.")
    p = -np.sort(-_normalised(maps), axis=1)
    needed = np.argmax(np.cumsum(p, axis=1) >= mass - 1e-12, axis=1) + 1
    return needed / p.shape[1]


def effective_support(maps: np.ndarray) -> np.ndarray:
    """Per map: ``exp(entropy) / pixels``."""
    p = _normalised(maps)
    entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    return np.exp(entropy) / p.shape[1]
