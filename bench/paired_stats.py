"""Statistics for two models scored on the same test images, seed by seed.

Per seed, the two models' 0/1 correctness on the same images gives the discordant counts ``b``
(the row right, the base wrong) and ``c`` (the reverse), the paired gain ``100 (b - c) / n``
points and the exact McNemar p-value. Over k seeds, the verdict reads the interval
mean +- t(k - 1) sqrt(s^2 / k + V) (``t_interval``): s^2, the spread of the per-seed gains, holds
the seed's noise (initialisation, data order); V (``shared_image_variance``) holds the test
images', which every seed shares, so it does not average out over seeds. t is 12.71 for 2 seeds:
two seeds resolve only large and consistent gains. A bootstrap over seeds and the shared images is
a cross-check only: resampling 2 to 5 seeds underestimates their spread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    mean: float  # points
    low: float
    high: float


def discordant(row: np.ndarray, base: np.ndarray) -> tuple[int, int]:
    """(b, c): images the row gets right and the base wrong, and the reverse."""
    row, base = np.asarray(row, dtype=bool), np.asarray(base, dtype=bool)
    return int(np.sum(row & ~base)), int(np.sum(~row & base))


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: min(1, 2 P[Binom(b + c, 1/2) <= min(b, c)]); 1 when no
    image is discordant. Exact integer sums, so it holds for thousands of images."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def t_quantile(df: int, level: float = LEVEL) -> float:
    """The two-sided ``level`` quantile of Student's t (4.303 for 2 degrees of freedom at 95%)."""
    from scipy.stats import t  # scipy comes with scikit-learn (requirements.txt); imported late: slow

    return float(t.ppf((1 + level) / 2, df))


def shared_image_variance(differences: Sequence[np.ndarray]) -> float:
    """Variance (points^2) of the mean gain from the choice of test images. Every seed is scored
    on the same images, so this noise does not average out over seeds: it is the variance of the
    per-image difference (+1, 0, -1) averaged over seeds, divided by the number of images."""
    per_image = np.mean(np.stack([np.asarray(d, dtype=float) for d in differences]), axis=0)
    return 100**2 * float(np.var(per_image, ddof=1)) / len(per_image)


def t_interval(gains: Sequence[float], level: float = LEVEL, image_variance: float = 0.0) -> Interval | None:
    """Mean gain +- t(k - 1) sqrt(s^2 / k + image_variance) over k seeds; None below 2 seeds.

    s^2, the sample variance of the per-seed gains, holds the seed's noise (initialisation, data
    order); ``image_variance`` (``shared_image_variance``) holds the test images', which the
    seeds share. Adding them counts the seed-specific part of the image noise twice: the interval
    errs wide, never narrow (two equal gains no longer give a zero-width interval)."""
    k = len(gains)
    if k < 2:
        return None
    mean = float(np.mean(gains))
    half = t_quantile(k - 1, level) * math.sqrt(float(np.var(gains, ddof=1)) / k + image_variance)
    return Interval(mean, mean - half, mean + half)


def bootstrap_interval(differences: Sequence[np.ndarray], draws: int = 2000, seed: int = 0,
                       level: float = LEVEL) -> Interval | None:
    """Percentile interval of the mean gain when the seeds are resampled and, in the same draw,
    the test images (one image draw for every seed: they share their images). ``differences``:
    per seed, the per-image difference (+1, 0, -1). Seeded, hence reproducible; None below 2
    seeds. A cross-check only: resampling 2 to 5 seeds underestimates the seed spread."""
    k = len(differences)
    if k < 2:
        return None
    table = 100 * np.stack([np.asarray(d, dtype=float) for d in differences])
    rng = np.random.default_rng(seed)
    means = np.empty(draws)
    for i in range(draws):
        seeds, images = rng.integers(0, k, k), rng.integers(0, table.shape[1], table.shape[1])
        means[i] = table[seeds][:, images].mean()
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(table.mean()), float(low), float(high))


def verdict(interval: Interval | None, seeds: int) -> str:
    """``better`` / ``worse`` only when the whole interval is above / below 0."""
    if seeds == 0:
        return "no paired seed"
    if interval is None:
        return "1 seed"
    if interval.low > 0:
        return "better"
    if interval.high < 0:
        return "worse"
    return "not resolved"


def helps_by(interval: Interval | None, points: float) -> bool:
    """The gain is at least ``points`` only when the interval's lower end is above it."""
    return interval is not None and interval.low > points
