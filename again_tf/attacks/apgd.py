"""Auto-PGD (Croce & Hein, ICML 2020, Algorithm 1): PGD with momentum and a step size that halves
at checkpoints when the loss stops rising, so it needs no step-size tuning.

Follows the reference implementation (fra31/auto-attack, ``autopgd_base.py``) step for step,
including its integer checkpoints, its ``<=`` in the oscillation test and its first window, which
compares the first loss with an unset (zero) entry of its loss history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from again_tf.attacks.losses import dlr_targeted, resolve_loss
from again_tf.attacks.per_example import as_labels, per_example, predict
from again_tf.attacks.robust_rounds import attack_still_robust
from again_tf.attacks.targets import check_target_classes, kth_largest_class
from again_tf.attacks.threat import LinfBall, make_threat
from again_tf.attacks.tracing import traced
from again_tf.models.outputs import main_logits

INITIAL_STEP = 2.0  # the step size starts at 2 eps
MOMENTUM = 0.75


def checkpoints(n_iter: int) -> list[int]:
    """Iteration counts after which the step size is checked: ceil(p_j N) with p_1 = 0.22 and
    p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), in the reference's integer form."""
    window = max(int(0.22 * n_iter), 1)
    shortest, shrink = max(int(0.06 * n_iter), 1), max(int(0.03 * n_iter), 1)
    points, done = [], window
    while done <= n_iter:
        points.append(done)
        window = max(window - shrink, shortest)
        done += window
    return points


def _schedule(n_iter: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Per iteration: whether it ends a window, and that window's length."""
    is_check, window = np.zeros(n_iter, bool), np.zeros(n_iter, np.float32)
    previous = 0
    for point in checkpoints(n_iter):
        is_check[point - 1], window[point - 1] = True, point - previous
        previous = point
    return tf.constant(is_check), tf.constant(window)


class StepControl(NamedTuple):
    """Per-example step-size state; ``prev_loss`` and ``n_increase`` count the successful steps
    of the current window, ``reduced_last``/``best_last`` are the previous checkpoint's."""

    step_size: tf.Tensor
    loss_best: tf.Tensor
    prev_loss: tf.Tensor
    n_increase: tf.Tensor
    reduced_last: tf.Tensor
    best_last: tf.Tensor


def _initial_control(loss: tf.Tensor, eps: float) -> StepControl:
    zeros = tf.zeros_like(loss)
    return StepControl(INITIAL_STEP * eps + zeros, loss, zeros, zeros, tf.ones_like(loss, tf.bool), loss)


def _checkpoint(control: StepControl, window: tf.Tensor, rho: float) -> tuple[StepControl, tf.Tensor]:
    """Halve where (1) at most rho of the window's steps raised the loss, or (2) the step was not
    halved at the last checkpoint and the best loss has not risen since."""
    halve = (control.n_increase <= window * rho) | (
        tf.logical_not(control.reduced_last) & (control.best_last >= control.loss_best))
    step = tf.where(halve, control.step_size / 2.0, control.step_size)
    zeros = tf.zeros_like(control.n_increase)
    return StepControl(step, control.loss_best, control.prev_loss, zeros, halve, control.loss_best), halve


def _update_control(control: StepControl, loss: tf.Tensor, is_check: tf.Tensor, window: tf.Tensor,
                    rho: float) -> tuple[StepControl, tf.Tensor]:
    """Records one iteration's loss; at a checkpoint also decides which examples halve their step."""
    increased = tf.cast(loss > control.prev_loss, loss.dtype)
    control = control._replace(loss_best=tf.maximum(control.loss_best, loss), prev_loss=loss,
                               n_increase=control.n_increase + increased)
    return tf.cond(is_check, lambda: _checkpoint(control, window, rho),
                   lambda: (control, tf.zeros_like(loss, tf.bool)))


def step_size_schedule(losses, initial_loss, eps: float, rho: float = 0.75,
                       n_iter: int | None = None) -> np.ndarray:
    """Step sizes APGD would use after each iteration, given the losses it observed there
    (``[T, N]``) and at the start point, in a run of ``n_iter`` (default T) iterations: the
    schedule alone, for checking it by hand."""
    losses = tf.convert_to_tensor(losses, tf.float32)
    is_check, window = _schedule(n_iter or int(losses.shape[0]))
    control, sizes = _initial_control(tf.convert_to_tensor(initial_loss, tf.float32), eps), []
    for i in range(int(losses.shape[0])):
        control, _ = _update_control(control, losses[i], is_check[i], window[i], rho)
        sizes.append(control.step_size.numpy())
    return np.stack(sizes)


def _value_and_grad(objective: Callable, x_adv: tf.Tensor):
    with tf.GradientTape() as tape:
        tape.watch(x_adv)
        loss, logits = objective(x_adv)
        total = tf.reduce_sum(loss)
    return loss, tape.gradient(total, x_adv), logits


def _expected_gradient(objective: Callable, x_adv: tf.Tensor, eot_iter: int):
    """Gradient averaged over ``eot_iter`` draws of the model's randomness (EOT); the loss and
    logits are the last draw's, as in the reference."""
    loss, grad, logits = _value_and_grad(objective, x_adv)
    if eot_iter == 1:
        return loss, grad, logits

    def body(j, total, _loss, _logits):
        loss_j, grad_j, logits_j = _value_and_grad(objective, x_adv)
        return j + 1, total + grad_j, loss_j, logits_j

    _, grad, loss, logits = tf.while_loop(lambda j, *_: j < eot_iter, body, (1, grad, loss, logits))
    return loss, grad / float(eot_iter), logits


def _momentum_step(threat, x, x_adv, x_prev, grad, step_size, a):
    """z = P(x_k + eta s(grad)); x_{k+1} = P(x_k + a (z - x_k) + (1 - a)(x_k - x_{k-1})), P the
    projection onto the eps-ball and [0, 1]."""
    def project(t):
        return tf.clip_by_value(threat.project(t, x), 0.0, 1.0)

    z = project(threat.step(x_adv, grad, per_example(step_size, x)))
    return project(x_adv + (z - x_adv) * a + (x_adv - x_prev) * (1.0 - a))


class _Iterate(NamedTuple):
    """APGD's per-example loop state; ``x_prev`` is the point before the last step (momentum)."""

    x_adv: tf.Tensor
    x_prev: tf.Tensor
    grad: tf.Tensor
    x_best: tf.Tensor
    grad_best: tf.Tensor
    x_best_adv: tf.Tensor
    robust: tf.Tensor
    control: StepControl


def _random_start(threat, x: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    """x + eps t / ||t||: t uniform in [-1, 1] scaled to L-inf norm 1, or Gaussian to L2 norm 1."""
    axes = list(range(1, x.shape.rank))
    if isinstance(threat, LinfBall):
        size = tf.reduce_max(tf.abs(noise), axis=axes, keepdims=True)
    else:
        size = tf.sqrt(tf.reduce_sum(tf.square(noise), axis=axes, keepdims=True))
    return tf.clip_by_value(x + threat.eps * noise / (size + 1e-12), 0.0, 1.0)


def _single_run(model_fn: Callable, loss_fn: Callable, threat, n_iter: int, rho: float, eot_iter: int):
    """One APGD run as a pure-TF function of (x, y, targets, noise) -> (x_best_adv, success): the
    last misclassified iterate of each example (x_best_adv in the reference) and whether it has one."""
    is_check, window = _schedule(n_iter)

    def run(x, y, targets, noise):
        def objective(x_adv):
            outputs = model_fn(x_adv)
            return loss_fn(outputs, y, targets), main_logits(outputs)

        def body(i, it):
            a = tf.where(i > 0, MOMENTUM, 1.0)
            x_new = _momentum_step(threat, x, it.x_adv, it.x_prev, it.grad, it.control.step_size, a)
            loss, grad, logits = _expected_gradient(objective, x_new, eot_iter)
            wrong = tf.argmax(logits, axis=-1, output_type=tf.int32) != y
            better = per_example(loss > it.control.loss_best, x)
            x_best, grad_best = tf.where(better, x_new, it.x_best), tf.where(better, grad, it.grad_best)
            control, halve = _update_control(it.control, loss, is_check[i], window[i], rho)
            halve = per_example(halve, x)
            return i + 1, _Iterate(
                tf.where(halve, x_best, x_new), it.x_adv, tf.where(halve, grad_best, grad), x_best,
                grad_best, tf.where(per_example(wrong, x), x_new, it.x_best_adv),
                it.robust & tf.logical_not(wrong), control)

        x_start = _random_start(threat, x, noise)
        loss, grad, logits = _expected_gradient(objective, x_start, eot_iter)
        robust = tf.argmax(logits, axis=-1, output_type=tf.int32) == y
        start = _Iterate(x_start, x_start, grad, x_start, grad, x_start, robust,
                         _initial_control(loss, threat.eps))
        _, last = tf.while_loop(lambda i, _: i < n_iter, body, (tf.constant(0), start))
        return last.x_best_adv, tf.logical_not(last.robust)

    return run


def _check(steps: int, restarts: int, eot_iter: int, rho: float) -> None:
    if steps < 1 or restarts < 1 or eot_iter < 1:
        raise ValueError(f"APGD needs steps, restarts and eot_iter >= 1; "
                         f"got {steps}, {restarts}, {eot_iter}.")
    if not 0.0 < rho <= 1.0:
        raise ValueError(f"APGD rho must be in (0, 1], got {rho}.")


def _rounds(model_fn, x, y, *, eps, norm, steps, loss_fn, loss_key, rho, eot_iter, seed, targets_of):
    """Runs APGD once per entry of ``targets_of`` (each maps the still-robust examples and labels
    to their target classes), each time on the examples no earlier run has broken."""
    x, y = tf.convert_to_tensor(x, tf.float32), as_labels(y)
    threat = make_threat(norm, eps)
    run = traced(model_fn, ("apgd", loss_key, threat, steps, rho, eot_iter),
                 lambda f: _single_run(f, loss_fn, threat, steps, rho, eot_iter), x, y, y, x)
    generator = tf.random.Generator.from_seed(seed)
    draw = generator.uniform if norm == "linf" else generator.normal
    low_high = {"minval": -1.0, "maxval": 1.0} if norm == "linf" else {}
    adv, robust = x, predict(model_fn, x) == y
    for target_of in targets_of:
        def attack(xs, ys, target_of=target_of):
            return run(xs, ys, target_of(xs, ys), draw(tf.shape(xs), **low_high))

        adv, robust = attack_still_robust(x, y, adv, robust, attack)
    return adv


def apgd(
    model_fn: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 100,
    loss: str | Callable = "ce",
    restarts: int = 1,
    rho: float = 0.75,
    eot_iter: int = 1,
    seed: int = 0,
) -> tf.Tensor:
    """Untargeted APGD (APGD-CE / APGD-DLR of AutoAttack) from a random start in the eps-ball.

    ``loss``: "ce", "dlr" (on the main logits) or a callable ``loss(outputs, labels)`` of the raw
    model outputs. Each restart attacks the examples no earlier restart has broken; an example
    that is broken gets the last misclassified iterate, the others keep ``x``. ``eot_iter`` > 1
    averages the gradient over the model's randomness (AutoAttack's "rand" version uses 20).
    Eager at the top level; each run is one traced ``tf.while_loop``.
    """
    _check(steps, restarts, eot_iter, rho)
    named = resolve_loss(loss)
    loss_fn = lambda outputs, labels, _targets: named(outputs, labels)
    return _rounds(model_fn, x, y, eps=eps, norm=norm, steps=steps, loss_fn=loss_fn, loss_key=loss, rho=rho,
                   eot_iter=eot_iter, seed=seed, targets_of=[lambda _xs, ys: ys] * restarts)


def apgd_targeted(
    model_fn: Callable,
    x: tf.Tensor,
    y: tf.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 100,
    n_target_classes: int = 9,
    restarts: int = 1,
    rho: float = 0.75,
    eot_iter: int = 1,
    seed: int = 0,
) -> tf.Tensor:
    """APGD-T: APGD on the targeted DLR loss, once per target class - the classes with the 2nd,
    3rd, ... (n_target_classes + 1)-th largest clean logit - each on the examples still robust."""
    _check(steps, restarts, eot_iter, rho)
    check_target_classes(model_fn, tf.convert_to_tensor(x, tf.float32), n_target_classes)
    loss_fn = lambda outputs, labels, targets: dlr_targeted(main_logits(outputs), labels, targets)
    targets_of = [lambda xs, _ys, k=k: kth_largest_class(main_logits(model_fn(xs)), k)
                  for k in range(2, n_target_classes + 2) for _ in range(restarts)]
    return _rounds(model_fn, x, y, eps=eps, norm=norm, steps=steps, loss_fn=loss_fn, loss_key="dlr-targeted",
                   rho=rho, eot_iter=eot_iter, seed=seed, targets_of=targets_of)
