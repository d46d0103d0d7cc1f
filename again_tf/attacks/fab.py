"""Targeted Fast Adaptive Boundary attack, FAB-T (Croce & Hein, ICML 2020, "Minimally distorted
adversarial examples with a fast adaptive boundary attack"), L-inf, as AutoAttack's standard
version runs it (fra31/auto-attack ``fab_base.py``, ``fab_projections.py``).

Each step linearises the decision boundary between the true class and the target, projects both
the iterate and the clean image onto that hyperplane (within the [0, 1] box), moves to a convex
combination biased towards the clean image, and, once adversarial, steps back towards the clean
image; the smallest adversarial perturbation found is kept and counts if it is within eps.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from again_tf.attacks.per_example import as_labels, flat, linf_norm, per_example, predict
from again_tf.attacks.robust_rounds import attack_still_robust
from again_tf.attacks.targets import check_target_classes, kth_largest_class
from again_tf.attacks.tracing import traced
from again_tf.models.outputs import main_logits

_NOT_FOUND = 1e10  # the reference's distance of "no adversarial point yet"
_BISECTIONS = 24  # halvings of the radius bracket: below float32 resolution of [0, 1]


def _gather(t: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    return tf.gather(t, index, batch_dims=1)


def _radius(weight: tf.Tensor, room: tf.Tensor, need: tf.Tensor) -> tf.Tensor:
    """The lambda with ``sum_i weight_i min(lambda, room_i) = need``: bisection finds which
    coordinates saturate, then the equation is solved exactly for the others."""
    low, high = tf.zeros_like(need), tf.reduce_max(room, axis=1)
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + high)
        short = tf.reduce_sum(weight * tf.minimum(middle[:, None], room), axis=1) < need
        low, high = tf.where(short, middle, low), tf.where(short, high, middle)
    saturated = room <= low[:, None]
    done = tf.reduce_sum(tf.where(saturated, weight * room, 0.0), axis=1)
    rate = tf.reduce_sum(tf.where(saturated, 0.0, weight), axis=1)
    return tf.maximum(tf.math.divide_no_nan(need - done, rate), 0.0)


def projection_linf(points: tf.Tensor, w: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """The smallest L-inf step ``d`` with ``w . (points + d) = b`` and ``points + d`` in [0, 1],
    per row of ``[N, D]`` (the full step to the box's far corner if the hyperplane is out of
    reach): each coordinate moves min(lambda, its room in the box) in the direction of -w, as in
    the reference's ``projection_linf``, which finds the same lambda by sorting the coordinates;
    this finds it by bisection (2.5x faster on 400 x 784 rows here; same result to 1e-6)."""
    need = tf.reduce_sum(w * points, axis=1) - b
    w = w * tf.where(need >= 0, 1.0, -1.0)[:, None]
    need = tf.abs(need)
    toward = tf.where(w < 0, 1.0, -1.0)  # the box side that lowers w . z
    room = tf.where(w != 0, tf.where(w < 0, 1.0 - points, points), 0.0)
    reachable = need < tf.reduce_sum(tf.abs(w) * room, axis=1)
    lam = _radius(tf.abs(w), room, need)[:, None]
    return toward * tf.where(reachable[:, None], tf.minimum(lam, room), room)


def _boundary_step(x1, x, df, dg, eta, alpha_max):
    """Projects the iterate and the clean image onto the linearised boundary ``w . z = b`` and
    moves to ``(1 - alpha)(x1 + eta d1) + alpha (x + eta d2)``, alpha = |d1| / (|d1| + |d2|)
    capped at alpha_max: the step biased towards the clean image, which keeps the result close."""
    n = tf.shape(x)[0]
    w = flat(dg)
    b = -df + tf.reduce_sum(w * flat(x1), axis=1)
    d3 = projection_linf(tf.concat([flat(x1), flat(x)], 0), tf.concat([w, w], 0), tf.concat([b, b], 0))
    d1, d2 = tf.reshape(d3[:n], tf.shape(x)), tf.reshape(d3[n:], tf.shape(x))
    size = tf.maximum(tf.reduce_max(tf.abs(d3), axis=1), 1e-8)
    alpha = tf.clip_by_value(size[:n] / (size[:n] + size[n:]), 0.0, alpha_max)
    alpha = per_example(alpha, x)
    return tf.clip_by_value((x1 + eta * d1) * (1.0 - alpha) + (x + eta * d2) * alpha, 0.0, 1.0)


def _single_run(model_fn: Callable, steps: int, eta: float, beta: float, alpha_max: float):
    """One FAB-T run as a pure-TF function of (x, y, targets, x_start) -> the closest adversarial
    point found (x where none was found), before the eps check."""

    def run(x, y, targets, x_start):
        def difference(x1):
            with tf.GradientTape() as tape:
                tape.watch(x1)
                logits = main_logits(model_fn(x1))
                diff = _gather(logits, targets[:, None])[:, 0] - _gather(logits, y[:, None])[:, 0]
                total = tf.reduce_sum(diff)
            return diff, tape.gradient(total, x1)

        def body(i, x1, adv, dist):
            df, dg = difference(x1)
            x1 = _boundary_step(x1, x, df, dg, eta, alpha_max)
            is_adv = predict(model_fn, x1) != y
            t = linf_norm(x1 - x)
            closer = per_example(is_adv & (t < dist), x)
            adv = tf.where(closer, x1, adv)
            dist = tf.where(is_adv & (t < dist), t, dist)
            x1 = tf.where(per_example(is_adv, x), x + (x1 - x) * beta, x1)
            return i + 1, x1, adv, dist

        dist = tf.fill(tf.shape(y), _NOT_FOUND)
        _, _, adv, dist = tf.while_loop(lambda i, *_: i < steps, body, (tf.constant(0), x_start, x, dist))
        return tf.where(per_example(dist < _NOT_FOUND, x), adv, x)

    return run


def fab_targeted(
    model_fn: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 100,
    n_target_classes: int = 9,
    restarts: int = 1,
    alpha_max: float = 0.1,
    eta: float = 1.05,
    beta: float = 0.9,
    seed: int = 0,
) -> tf.Tensor:
    """FAB-T: per target class (the 2nd ... (n_target_classes + 1)-th largest clean logit) and
    restart, FAB on the examples still robust; a point counts when misclassified and within eps,
    otherwise the example keeps ``x``. Restarts after the first start at a random point at L-inf
    distance eps / 2, as in the reference (the standard version uses one)."""
    if norm != "linf":
        raise ValueError(f"FAB-T is implemented for norm 'linf' only, got {norm!r}.")
    if steps < 1 or restarts < 1:
        raise ValueError(f"FAB-T needs steps and restarts >= 1, got steps={steps}, restarts={restarts}.")
    x, y = tf.convert_to_tensor(x, tf.float32), as_labels(y)
    check_target_classes(model_fn, x, n_target_classes)
    run = traced(model_fn, ("fab-t", steps, eta, beta, alpha_max),
                 lambda f: _single_run(f, steps, eta, beta, alpha_max), x, y, y, x)
    generator = tf.random.Generator.from_seed(seed)
    adv, robust = x, predict(model_fn, x) == y
    for k in range(2, n_target_classes + 2):
        for restart in range(restarts):
            def attack(xs, ys, k=k, restart=restart):
                targets = kth_largest_class(main_logits(model_fn(xs)), k)
                start = xs
                if restart > 0:
                    t = generator.uniform(tf.shape(xs), -1.0, 1.0)
                    start = tf.clip_by_value(xs + 0.5 * eps * t / per_example(linf_norm(t), xs), 0.0, 1.0)
                found = run(xs, ys, targets, start)
                success = (predict(model_fn, found) != ys) & (linf_norm(found - xs) <= eps)
                return found, success

            adv, robust = attack_still_robust(x, y, adv, robust, attack)
    return adv
