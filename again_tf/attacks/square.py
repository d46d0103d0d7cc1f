"""Square Attack, L-inf (Andriushchenko et al., ECCV 2020): a score-based black-box attack by
random search over square-shaped updates at the corners of the eps-ball, as AutoAttack runs it
(fra31/auto-attack ``square.py``: margin loss on the logits, vertical-stripe start, the
piecewise-constant schedule of the square size, only still-robust images queried).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.losses import cw_margin
from again_tf.attacks.per_example import as_labels, predict
from again_tf.attacks.robust_rounds import attack_still_robust
from again_tf.attacks.tracing import traced
from again_tf.models.outputs import main_logits

# (iteration bound, divisor of p_init) of the reference's p_selection.
_P_SCHEDULE = ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64), (6000, 128),
               (8000, 256))


def p_selection(iteration: int, p_init: float = 0.8, n_queries: int = 5000, rescale: bool = False) -> float:
    """Fraction of the image a square covers at ``iteration``: p_init halved at iterations
    10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 (on a 10000-query scale if ``rescale``;
    AutoAttack runs Square with ``rescale=False``)."""
    if rescale:
        iteration = int(iteration / n_queries * 10000)
    for bound, divisor in _P_SCHEDULE:
        if iteration <= bound:
            return p_init / divisor
    return p_init / 512


def square_sizes(n_queries: int, image_shape, p_init: float = 0.8, rescale: bool = False) -> list[int]:
    """Side of the square at each iteration, ``max(round(sqrt(p h w)), 1)``, for (h, w, c) images."""
    height, width, channels = image_shape
    n_features = height * width * channels
    return [max(int(round(math.sqrt(p_selection(i, p_init, n_queries, rescale) * n_features / channels))), 1)
            for i in range(n_queries)]


def _margin(model_fn: Callable, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """``z_y - max_{j != y} z_j``: positive while correctly classified; the loss Square minimises."""
    return -cw_margin(main_logits(model_fn(x)), y)


def _square_update(x, x_best, sizes, eps, seed, i, shared_window):
    """``x_best`` plus, per image, one s x s square of +-2 eps (one sign per channel), projected
    onto the eps-ball and [0, 1]; ``shared_window`` draws one window and sign for the whole batch,
    as the reference's implementation does."""
    shape = tf.shape(x)
    height, width = x.shape[1], x.shape[2]
    s = sizes[i]
    draws = 1 if shared_window else shape[0]
    seeds = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, i), 2)
    corner = tf.random.stateless_uniform([draws, 2], seeds[0])
    top = tf.cast(tf.floor(corner[:, 0] * tf.cast(height - s, tf.float32)), tf.int32)
    left = tf.cast(tf.floor(corner[:, 1] * tf.cast(width - s, tf.float32)), tf.int32)
    rows, cols = tf.range(height)[None, :], tf.range(width)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + s)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + s)
    window = tf.cast(in_rows[:, :, None, None] & in_cols[:, None, :, None], x.dtype)
    sign = tf.sign(tf.random.stateless_uniform([draws, 1, 1, shape[3]], seeds[1], -1.0, 1.0))
    x_new = x_best + 2.0 * eps * sign * window
    return tf.clip_by_value(tf.clip_by_value(x_new, x - eps, x + eps), 0.0, 1.0)


def _single_run(model_fn: Callable, eps: float, sizes: list[int], shared_window: bool):
    """One Square run as a pure-TF function of (x, y, stripes, seed) -> the best point per image:
    the first misclassified one, else the one with the smallest margin after the queries."""
    sizes_t = tf.constant(sizes, tf.int32)
    n_queries = len(sizes)

    def run(x, y, stripes, seed):
        def body(i, x_best, margin_min):
            index = tf.where(margin_min > 0)[:, 0]
            x_curr, best_curr = tf.gather(x, index), tf.gather(x_best, index)
            margin_curr = tf.gather(margin_min, index)
            x_new = _square_update(x_curr, best_curr, sizes_t, eps, seed, i, shared_window)
            margin = _margin(model_fn, x_new, tf.gather(y, index))
            # The reference also keeps a loss; with the margin loss it equals the margin while an
            # image is being attacked, so "lower loss or misclassified" is "lower margin".
            improved = margin < margin_curr
            best = tf.where(improved[:, None, None, None], x_new, best_curr)
            x_best = tf.tensor_scatter_nd_update(x_best, index[:, None], best)
            margin_min = tf.tensor_scatter_nd_update(
                margin_min, index[:, None], tf.where(improved, margin, margin_curr))
            return i + 1, x_best, margin_min

        x_best = tf.clip_by_value(x + eps * stripes, 0.0, 1.0)
        margin_min = _margin(model_fn, x_best, y)
        active = lambda i, _, margin: (i < n_queries) & tf.reduce_any(margin > 0)
        _, x_best, _ = tf.while_loop(active, body, (tf.constant(0), x_best, margin_min))
        return x_best

    return run


def square(
    model_fn: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    n_queries: int = 5000,
    p_init: float = 0.8,
    restarts: int = 1,
    rescale_schedule: bool = False,
    shared_window: bool = False,
    seed: int = 0,
) -> tf.Tensor:
    """Square Attack on NHWC images from a start of vertical stripes of +-eps (one sign per column
    and channel); per image and iteration one random square of side ``square_sizes`` moves to the
    opposite corner and is kept if the margin drops. Each restart attacks the images still robust;
    an image keeps ``x`` unless it is broken. ``shared_window=True`` uses one window and sign for
    the whole batch per iteration, as the reference's code does (same distribution per image)."""
    if norm != "linf":
        raise ValueError(f"Square is implemented for norm 'linf' only, got {norm!r}.")
    if n_queries < 1 or restarts < 1 or not 0.0 < p_init <= 1.0:
        raise ValueError(f"Square needs n_queries, restarts >= 1 and p_init in (0, 1], got "
                         f"n_queries={n_queries}, restarts={restarts}, p_init={p_init}.")
    x, y = tf.convert_to_tensor(x, tf.float32), as_labels(y)
    sizes = square_sizes(n_queries, x.shape[1:], p_init, rescale_schedule)
    run = traced(model_fn, ("square", eps, n_queries, p_init, rescale_schedule, shared_window),
                 lambda f: _single_run(f, eps, sizes, shared_window), x, y, x[:, :1],
                 tf.TensorSpec([2], tf.int64))
    generator = tf.random.Generator.from_seed(seed)
    adv, robust = x, predict(model_fn, x) == y
    for _ in range(restarts):
        def attack(xs, ys):
            stripes = tf.sign(generator.uniform(tf.concat([tf.shape(xs)[:1], [1], tf.shape(xs)[2:]], 0),
                                                -1.0, 1.0))
            found = run(xs, ys, stripes, generator.make_seeds(1)[:, 0])
            return found, predict(model_fn, found) != ys

        adv, robust = attack_still_robust(x, y, adv, robust, attack)
    return adv
