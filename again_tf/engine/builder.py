"""From a RunConfig to a built, compiled AgainModel."""

from __future__ import annotations

import dataclasses

import keras

from again_tf.config.schema import RunConfig, default_step_size
from again_tf.data.catalog import DatasetInfo
from again_tf.engine.model import AgainModel, AttackSettings
from again_tf.methods import build_method, method_networks
from again_tf.models.factory import build_backbone


def build_model(config: RunConfig, info: DatasetInfo) -> AgainModel:
    """The model, built on the data set's image shape; the method's own networks (LBGAT's guide,
    LAS-AT's strategy network) are a part of it, so checkpoints and resumes carry them."""
    networks = method_networks(config, info)
    backbone = build_backbone(config.model, config.again, info.num_classes)
    model = AgainModel(backbone, info.num_classes, info.mean, info.std, hff_style=config.again.hff_style,
                       networks=networks, beta_aux=config.again.beta_aux, name="again_model")
    model.build((None, *info.image_shape))
    return model


def soft_surrogates(model: AgainModel, config: RunConfig, info: DatasetInfo,
                    temperatures) -> tuple[tuple[str, object], ...]:
    """``("soft_T<T>", inference fn)`` per temperature: the model rebuilt with
    ``again.mask_source = soft`` at ``T``, sharing its weights (a soft mask has the same variables
    as an argmax one), as a differentiable stand-in for attacks past its argmax masks. Empty for a
    model whose masks are soft already, or that has none."""
    if not config.again.ase or config.again.mask_source == "soft":
        return ()
    found = []
    for t in temperatures:
        again = dataclasses.replace(config.again, mask_source="soft", mask_temperature=t)
        surrogate = build_model(dataclasses.replace(config, again=again), info)
        surrogate.set_weights(model.get_weights())
        found.append((f"soft_T{t:g}", surrogate.inference_fn()))
    return tuple(found)


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
    step = default_step_size(a.eps, config.eval.step_size)
    losses = ("ce_aux", "ce") if config.again.ase and config.model.sites else ("ce",)
    return AttackSettings(eps=a.eps, step_size=step, steps=steps, norm=a.norm, init="uniform",
                          losses=losses)


def compile_model(model: AgainModel, config: RunConfig, steps_per_epoch: int) -> AgainModel:
    o = config.optim
    optimizer = keras.optimizers.SGD(learning_rate(config, steps_per_epoch), momentum=o.momentum,
                                     nesterov=o.nesterov)
    model.compile(optimizer=optimizer, method=build_method(config, steps_per_epoch),
                  eval_attack=eval_attack_settings(config, config.eval.val_pgd_steps),
                  weight_decay=o.weight_decay, seed=config.seed, jit_compile=config.runtime.jit_compile)
    if config.runtime.jit_compile and not model.jit_compile:
        cause = ("op determinism is on: drop --deterministic to use XLA" if config.runtime.deterministic
                 else "the model or its strategy does not support XLA here")
        print(f"runtime.jit_compile: Keras turned XLA off for this model ({cause}).", flush=True)
    return model
