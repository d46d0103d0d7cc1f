"""From a RunConfig to a built, compiled AgainModel."""

from __future__ import annotations

import keras

from again_tf.config.schema import AgainConfig, RunConfig
from again_tf.data.catalog import DatasetInfo
from again_tf.engine.model import AgainModel, AttackSettings, AWPSettings
from again_tf.models.factory import build_backbone
from again_tf.models.strategy import StrategyNetwork
from again_tf.objectives import make_objective


def build_model(config: RunConfig, info: DatasetInfo) -> AgainModel:
    """The model, built on the data set's image shape; with LBGAT, its guide network (the same
    architecture, no AGAIN sites) is a part of it, so checkpoints and resumes carry both."""
    guide = strategy = None
    plain = AgainConfig(ase=False, hff=False)
    if config.objective.method == "lbgat":
        guide = AgainModel(build_backbone(config.model, plain, info.num_classes), info.num_classes,
                           info.mean, info.std, name="guide")
    if config.objective.method == "las_at":
        o = config.objective
        sizes = (len(o.las_eps_scales), len(o.las_step_scales), len(o.las_iterations))
        strategy = StrategyNetwork(build_backbone(config.model, plain, info.num_classes), sizes,
                                   info.mean, info.std, name="strategy")
    backbone = build_backbone(config.model, config.again, info.num_classes)
    model = AgainModel(backbone, info.num_classes, info.mean, info.std,
                       hff_style=config.again.hff_style, guide=guide, strategy=strategy, name="again_model")
    model.build((None, *info.image_shape))
    return model


def learning_rate(config: RunConfig, steps_per_epoch: int):
    """Piecewise-constant decay at the epoch milestones, counted in optimizer steps."""
    o = config.optim
    if not o.lr_milestones:
        return o.lr
    boundaries = [m * steps_per_epoch for m in o.lr_milestones]
    values = [o.lr * o.lr_factor**i for i in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def eval_attack_settings(config: RunConfig, steps: int) -> AttackSettings:
    """PGD-k of the evaluation: eval.step_size, or eps / 4 (2/255 at eps 8/255), random start.

    With ASE the model's inference masks follow the auxiliary heads' predictions, and CE on the
    main head alone is a masked gradient: the attack also goes through the aux heads (``ce_aux``)
    and an example is robust only if it survives both.
    """
    a = config.attack
    step = config.eval.step_size if config.eval.step_size is not None else a.eps / 4
    losses = ("ce_aux", "ce") if config.again.ase and config.model.sites else ("ce",)
    return AttackSettings(eps=a.eps, step_size=step, steps=steps, norm=a.norm, init="uniform",
                          losses=losses)


def compile_model(model: AgainModel, config: RunConfig, steps_per_epoch: int) -> AgainModel:
    c = config.objective
    objective = make_objective(
        c.method, beta_aux=config.again.beta_aux, attack_aux=config.again.attack_aux,
        trades_beta=c.trades_beta, mart_lambda=c.mart_lambda,
        fat_tau_boundaries=tuple(m * steps_per_epoch for m in c.fat_tau_milestones),
        fat_omega=c.fat_omega, lbgat_beta=c.lbgat_beta,
        las={"eps_scales": c.las_eps_scales, "step_scales": c.las_step_scales,
             "iterations": c.las_iterations, "interval": c.las_interval,
             "reward_weights": c.las_reward_weights, "confidence": c.las_confidence,
             "strategy_lr": c.las_strategy_lr},
    )
    a = config.attack
    attack = AttackSettings(a.eps, a.step_size, a.steps, a.norm,
                            objective.default_init if a.init == "auto" else a.init)
    awp = None
    if config.objective.awp:
        awp = AWPSettings(config.objective.awp_gamma,
                          config.objective.awp_warmup_epochs * steps_per_epoch)
    o = config.optim
    optimizer = keras.optimizers.SGD(learning_rate(config, steps_per_epoch), momentum=o.momentum,
                                     nesterov=o.nesterov)
    model.compile(optimizer=optimizer, objective=objective, attack=attack,
                  eval_attack=eval_attack_settings(config, config.eval.val_pgd_steps),
                  weight_decay=o.weight_decay, awp=awp, seed=config.seed,
                  jit_compile=config.runtime.jit_compile)
    if config.runtime.jit_compile and not model.jit_compile:
        cause = ("op determinism is on: drop --deterministic to use XLA" if config.runtime.deterministic
                 else "the model or its strategy does not support XLA here")
        print(f"runtime.jit_compile: Keras turned XLA off for this model ({cause}).", flush=True)
    return model
