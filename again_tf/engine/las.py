"""LAS-AT in the train step: sampled per-example attacks and the strategy network's REINFORCE
update (``objectives/las_at.py`` has the method's settings and why)."""

from __future__ import annotations

import tensorflow as tf

from again_tf import randomness
from again_tf.attacks.budget_pgd import budget_pgd
from again_tf.attacks.pgd import pgd
from again_tf.evaluation.cascade import correct_predictions
from again_tf.objectives.awp import update_variables


def sample_strategies(strategy, x, training: bool):
    """Per-example picks (eps, step, iterations indices) and their summed log-probability."""
    heads = strategy(x, training=training)
    picks = [randomness.categorical(logits) for logits in heads]
    log_prob = tf.add_n([tf.gather(tf.nn.log_softmax(logits), pick, batch_dims=1)
                         for logits, pick in zip(heads, picks)])
    return picks, log_prob


def strategy_examples(model, x, y, picks):
    """The adversarial examples of the picked attacks (target model in inference mode)."""
    o, a = model.objective, model.attack
    eps = tf.gather(tf.constant(o.eps_scales, tf.float32), picks[0]) * a.eps
    step = tf.gather(tf.constant(o.step_scales, tf.float32), picks[1]) * a.eps
    steps = tf.gather(tf.constant(o.iterations, tf.int32), picks[2])
    return budget_pgd(model.inference_fn(), x, y, eps=eps, step_size=step, steps=steps,
                      start_eps=a.eps, norm=a.norm, loss=lambda out, labels: o.attack_loss(out, labels))


def strategy_reward(model, x, y, x_adv):
    """``w1 * min(CE, 10) + w2 * PGD-10 accuracy + w3 * clean accuracy``, the last two of the
    target after one SGD step on ``x_adv`` (applied to its weights, then taken back)."""
    o, a = model.objective, model.attack
    hardness = tf.minimum(tf.reduce_mean(o.attack_base(model(x_adv, training=False), y, None)), 10.0)
    variables, saved_stats = model.target_variables(), model.batchnorm_statistics()
    saved = [tf.identity(v) for v in variables]  # restored exactly: w + d - d is not always w
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model.loss_terms(x, x_adv, y)["loss"])
    lr = tf.cast(model.optimizer.learning_rate, tf.float32)
    delta = [-lr * (g + model.weight_decay * v) for g, v in zip(tape.gradient(loss, variables), variables)]
    update_variables(variables, delta)
    # The release evaluates a stepped copy of the target, BN statistics moved by the step
    # included; its PGD leaves an example at the first iterate that fools the model.
    x_eval = pgd(model.inference_fn(), x, y, eps=a.eps, step_size=a.eps / 4, steps=10, restarts=2,
                 keep_found=True)
    robust = tf.reduce_mean(correct_predictions(model(x_eval, training=False), y))
    clean = tf.reduce_mean(correct_predictions(model(x, training=False), y))
    update_variables(variables, saved, mode="assign")
    model.restore_batchnorm_statistics(saved_stats)  # the copy's step must not move ours
    w = o.reward_weights
    return w[0] * hardness + w[1] * robust + w[2] * clean


def update_strategy(model, x, y) -> tf.Tensor:
    """One REINFORCE step of the strategy network (no baseline, gradient norm clipped at 1, plain
    SGD, as the release); returns the reward."""
    variables = model.strategy.trainable_variables
    with tf.GradientTape() as tape:
        picks, log_prob = sample_strategies(model.strategy, x, training=True)
        with tape.stop_recording():
            reward = strategy_reward(model, x, y, strategy_examples(model, x, y, picks))
        loss = -reward * tf.reduce_mean(log_prob)
    grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), 1.0)
    for var, grad in zip(variables, grads):
        var.assign_sub(model.objective.strategy_lr * grad)
    return reward


def maybe_update_strategy(model, x, y) -> tf.Tensor:
    """``update_strategy`` every ``interval`` optimizer steps (before that step's target update);
    returns the reward, or -1 on the other steps."""
    due = tf.equal(model.optimizer.iterations % model.objective.interval, 0)
    return tf.cond(due, lambda: update_strategy(model, x, y), lambda: tf.constant(-1.0))
