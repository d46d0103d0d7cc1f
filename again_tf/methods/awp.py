"""AWP (Wu et al. 2020) wraps any method: the gradient is taken at weights perturbed along the
normalised gradient of the method's own loss (``objectives.awp`` has the formula and why)."""

from __future__ import annotations

import contextlib

import tensorflow as tf

from again_tf import randomness
from again_tf.methods.base import Method
from again_tf.methods.variable_updates import update_variables
from again_tf.objectives.awp import perturbable, weight_perturbation


class AWP:
    """Everything but ``perturbed_weights`` is the wrapped method's."""

    def __init__(self, inner: Method, gamma: float = 5e-3, warmup_steps: int = 0):
        self.inner, self.gamma, self.warmup_steps = inner, float(gamma), int(warmup_steps)

    @classmethod
    def wrap(cls, inner: Method, config, steps_per_epoch: int) -> AWP:
        o = config.objective
        return cls(inner, o.awp_gamma, o.awp_warmup_epochs * steps_per_epoch)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @contextlib.contextmanager
    def perturbed_weights(self, model, x, x_adv, y, count):
        """Applies the perturbation (zero during warm-up) and takes it back on exit."""
        with self.inner.perturbed_weights(model, x, x_adv, y, count), \
                randomness.shared_draws(self.inner.paired_draws) as again:
            saved = model.batchnorm_statistics()

            def proxy_loss():
                return tf.reduce_sum(self.inner.loss_terms(model, x, x_adv, y)["loss"]) / count

            targets = perturbable(model.target_variables())
            delta = weight_perturbation(proxy_loss, targets, self.gamma)
            model.restore_batchnorm_statistics(saved)  # the proxy pass must not move BN stats
            active = tf.cast(model.optimizer.iterations >= self.warmup_steps, tf.float32)
            delta = [active * d for d in delta]
            update_variables(targets, delta)
            again()  # the real pass draws what the proxy pass drew
            try:
                yield
            finally:
                update_variables(targets, [-d for d in delta])

    def get_config(self) -> dict:
        return {**self.inner.get_config(), "awp_gamma": self.gamma, "awp_warmup_steps": self.warmup_steps}
