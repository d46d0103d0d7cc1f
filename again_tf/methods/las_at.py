"""LAS-AT (Jia et al., CVPR 2022, "LAS-AT: adversarial training with learnable attack strategy").

A strategy network picks, per example, the attack's eps, step size and number of iterations
from discrete sets; the target model trains on those examples with label-smoothed CE (true
class 0.7, as the release); every ``interval`` steps the strategy network takes a REINFORCE
step on the batch reward ``w1 * min(CE(x_adv), 10) + w2 * PGD-10 accuracy + w3 * clean
accuracy`` of the target after one SGD step on x_adv (the release's 1, 4, 2): it learns attacks
that are hard now and still leave a model that generalises.

Sets are relative to ``attack.eps`` so a recipe transfers across data sets: the release's
CIFAR-10 command (eps 3..15/255, step 1..5/255 around 8/255) is eps x {3/8 .. 15/8} and step
x {1/8 .. 5/8}, with 3..14 iterations.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from again_tf import randomness
from again_tf.attacks.budget_pgd import budget_pgd
from again_tf.attacks.cascade import correct_predictions
from again_tf.attacks.losses import cross_entropy
from again_tf.attacks.pgd import pgd
from again_tf.config.schema import AgainConfig, default_step_size
from again_tf.errors import ConfigError
from again_tf.methods.base import Method
from again_tf.methods.variable_updates import update_variables
from again_tf.models.factory import build_backbone
from again_tf.models.strategy import StrategyNetwork
from again_tf.objectives.las_at import smoothed_cross_entropy


class LASAT(Method):
    name = "las_at"
    metric_names = ("strategy_reward",)
    untrained_networks = ("strategy",)  # trained here by REINFORCE, not by the optimizer
    options = {name: f"las_{name}" for name in ("eps_scales", "step_scales", "iterations", "interval",
                                                 "reward_weights", "confidence", "strategy_lr")}

    def __init__(self, *args, eps_scales, step_scales, iterations, interval: int, reward_weights,
                 confidence: float, strategy_lr: float, **kwargs):
        """The values' meaning and the release's defaults: the ``las_*`` fields of ObjectiveConfig."""
        super().__init__(*args, **kwargs)
        self.eps_scales = tuple(float(e) for e in eps_scales)
        self.step_scales = tuple(float(s) for s in step_scales)
        self.iterations = tuple(int(i) for i in iterations)
        self.interval, self.reward_weights = int(interval), tuple(float(w) for w in reward_weights)
        self.confidence, self.strategy_lr = float(confidence), float(strategy_lr)

    @classmethod
    def from_config(cls, config, steps_per_epoch, **kwargs):
        if tf.distribute.has_strategy():
            raise ConfigError("las_at trains without tf.distribute (its strategy network's update "
                              "runs every few steps, inside the step): use --strategy default.")
        return super().from_config(config, steps_per_epoch, **kwargs)

    @classmethod
    def networks(cls, config, info):
        o = config.objective
        sizes = (len(o.las_eps_scales), len(o.las_step_scales), len(o.las_iterations))
        plain = build_backbone(config.model, AgainConfig(ase=False, hff=False), info.num_classes)
        return {"strategy": StrategyNetwork(plain, sizes, info.mean, info.std, name="strategy")}

    @property
    def head_sizes(self) -> tuple[int, int, int]:
        return len(self.eps_scales), len(self.step_scales), len(self.iterations)

    def head_terms(self, logits_adv, logits_clean, labels, **extra):
        return {"loss": smoothed_cross_entropy(logits_adv, labels, self.confidence)}

    def attack_head_loss(self, logits_adv, labels, reference_logits):
        return cross_entropy(logits_adv, labels)

    def adversarial_examples(self, model, x, y):
        picks, _ = sample_strategies(model.networks["strategy"], x, training=False)
        return self.strategy_examples(model, x, y, picks)

    def strategy_examples(self, model, x, y, picks):
        """The adversarial examples of the picked attacks (target model in inference mode)."""
        a = self.attack
        eps = tf.gather(tf.constant(self.eps_scales, tf.float32), picks[0]) * a.eps
        step = tf.gather(tf.constant(self.step_scales, tf.float32), picks[1]) * a.eps
        steps = tf.gather(tf.constant(self.iterations, tf.int32), picks[2])
        return budget_pgd(model.inference_fn(), x, y, eps=eps, step_size=step, steps=steps,
                          start_eps=a.eps, norm=a.norm, loss=self.attack_loss(None))

    def update_networks(self, model, x, y):
        """``update_strategy`` every ``interval`` optimizer steps (before that step's target
        update); the reward is logged on those steps only."""
        due = tf.equal(model.optimizer.iterations % self.interval, 0)
        reward = tf.cond(due, lambda: self.update_strategy(model, x, y), lambda: tf.constant(-1.0))
        return {"strategy_reward": (reward, tf.cast(due, tf.float32))}

    def update_strategy(self, model, x, y) -> tf.Tensor:
        """One REINFORCE step of the strategy network (no baseline, gradient norm clipped at 1,
        plain SGD, as the release); returns the reward."""
        strategy = model.networks["strategy"]
        variables = strategy.trainable_variables
        with tf.GradientTape() as tape:
            picks, log_prob = sample_strategies(strategy, x, training=True)
            with tape.stop_recording():
                reward = self.reward(model, x, y, self.strategy_examples(model, x, y, picks))
            loss = -reward * tf.reduce_mean(log_prob)
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), 1.0)
        for var, grad in zip(variables, grads):
            var.assign_sub(self.strategy_lr * grad)
        return reward

    def reward(self, model, x, y, x_adv) -> tf.Tensor:
        """``w1 * min(CE, 10) + w2 * PGD-10 accuracy + w3 * clean accuracy``, the last two of the
        target after one SGD step on ``x_adv`` (applied to its weights, then taken back)."""
        hardness = tf.minimum(tf.reduce_mean(cross_entropy(model(x_adv, training=False), y)), 10.0)
        variables, saved_stats = model.target_variables(), model.batchnorm_statistics()
        saved = [tf.identity(v) for v in variables]  # restored exactly: w + d - d is not always w
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.loss_terms(model, x, x_adv, y)["loss"])
        lr = tf.cast(model.optimizer.learning_rate, tf.float32)
        grads = tape.gradient(loss, variables)
        delta = [-lr * (g + model.weight_decay * v) for g, v in zip(grads, variables)]
        update_variables(variables, delta)
        # The release evaluates a stepped copy of the target, BN statistics moved by the step
        # included; its PGD leaves an example at the first iterate that fools the model.
        reward_attack = dataclasses.replace(self.attack, step_size=default_step_size(self.attack.eps),
                                            steps=10, init="uniform")
        x_eval = pgd(model.inference_fn(), x, y, restarts=2, keep_found=True, **reward_attack.kwargs())
        robust = tf.reduce_mean(correct_predictions(model(x_eval, training=False), y))
        clean = tf.reduce_mean(correct_predictions(model(x, training=False), y))
        update_variables(variables, saved, mode="assign")
        model.restore_batchnorm_statistics(saved_stats)  # the copy's step must not move ours
        w = self.reward_weights
        return w[0] * hardness + w[1] * robust + w[2] * clean


def sample_strategies(strategy, x, training: bool):
    """Per-example picks (eps, step, iterations indices) and their summed log-probability."""
    heads = strategy(x, training=training)
    picks = [randomness.categorical(logits) for logits in heads]
    log_prob = tf.add_n([tf.gather(tf.nn.log_softmax(logits), pick, batch_dims=1)
                         for logits, pick in zip(heads, picks)])
    return picks, log_prob
