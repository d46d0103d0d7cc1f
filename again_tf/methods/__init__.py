"""Training methods: what the train step attacks with and what it minimises (``base.py`` says how
a method plugs in). Names are registered in ``again_tf.config.methods``."""

from __future__ import annotations

from again_tf.config.methods import method_entry
from again_tf.methods.awp import AWP
from again_tf.methods.base import Method, Passes


def method_class(config) -> type[Method]:
    return method_entry(config.objective.method).load()


def build_method(config, steps_per_epoch: int) -> Method | AWP:
    """The run's method, wrapped by AWP when ``objective.awp``; AGAIN's part (the ASE heads'
    terms, weighted by ``again.beta_aux``) applies whenever the model has ASE sites."""
    method = method_class(config).from_config(config, steps_per_epoch)
    return AWP.wrap(method, config, steps_per_epoch) if config.objective.awp else method


def method_networks(config, info) -> dict:
    """The extra networks the run's method trains (built before the model, saved inside it)."""
    return method_class(config).networks(config, info)


__all__ = ["AWP", "Method", "Passes", "build_method", "method_class", "method_networks"]
