"""A training method: the adversarial examples a train step fits and the loss it minimises.

``AgainModel.train_step`` runs one fixed sequence and asks the method at each point:

1. ``update_networks``: methods that train a network of their own by another rule (LAS-AT's
   strategy network) do it here and return metrics;
2. ``adversarial_examples``: x_adv, model in inference mode;
3. ``perturbed_weights``: a context around the gradient computation (AWP perturbs the weights
   inside it and restores them on exit);
4. ``loss_terms``: per-example terms, one named ``loss``, on the training-mode forward passes;
5. the optimizer update (coupled weight decay), then the accuracies.

AGAIN's part is in ``terms``: the method's per-head terms on the main head plus ``beta_aux`` times
their mean over the ASE heads, when the model has them. A new method subclasses ``Method``,
defines ``head_terms`` and ``attack_head_loss`` (and ``forward`` if it needs more than F(x_adv)),
and registers its name with ``again_tf.config.register_method``.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import tensorflow as tf

from again_tf.attacks.pgd import PGDSettings
from again_tf.attacks.training_pgd import training_pgd
from again_tf.models.outputs import ModelOutputs, dual, per_head


@dataclass(frozen=True)
class Passes:
    """The forward passes a method's loss reads: F(x_adv), F(x) when it uses it, and other
    networks' outputs by name (the main head only gets these, e.g. LBGAT's ``guide_logits``)."""

    adv: ModelOutputs
    clean: ModelOutputs | None = None
    extra: dict = field(default_factory=dict)


class Method(abc.ABC):
    """Base of every method; ``beta_aux`` and ``attack_aux`` are AGAIN's (see the module doc)."""

    name = "method"
    term_names: tuple[str, ...] = ()  # per-example terms of ``head_terms`` besides ``loss``
    metric_names: tuple[str, ...] = ()  # training metrics ``update_networks`` returns
    default_init = "uniform"  # the attack's start when attack.init is "auto"
    untrained_networks: tuple[str, ...] = ()  # networks the optimizer must not update
    options: dict[str, str] = {}  # constructor argument -> its ``objective.<field>`` (mixins add theirs)

    def __init__(self, attack: PGDSettings, beta_aux: float, attack_aux: bool = True,
                 paired_draws: bool = False):
        """``attack``: the PGD that makes the training batch's x_adv. ``paired_draws``: the
        training-mode passes of one step on the same images share their random draws (HFF, ASE's
        y'); see ``again_tf.randomness.shared_draws``."""
        self.attack, self.beta_aux, self.attack_aux = attack, float(beta_aux), bool(attack_aux)
        self.paired_draws = bool(paired_draws)

    @classmethod
    def from_config(cls, config, steps_per_epoch: int, **kwargs) -> Method:
        """The method of a RunConfig: the attack, AGAIN's weights and the ``options`` fields
        (subclasses that derive an argument from the config pass it in ``kwargs``)."""
        a = config.attack
        init = cls.default_init if a.init == "auto" else a.init
        attack = PGDSettings(a.eps, a.step_size, a.steps, a.norm, init)
        options = {arg: getattr(config.objective, name) for arg, name in cls.all_options().items()}
        again = config.again
        return cls(attack, again.beta_aux, again.attack_aux, paired_draws=again.paired_draws,
                   **options, **kwargs)

    @classmethod
    def all_options(cls) -> dict[str, str]:
        """``options`` of the class and of every class it derives from (FAT-TRADES: omega, beta)."""
        mro = reversed(cls.__mro__)
        return {arg: name for klass in mro for arg, name in vars(klass).get("options", {}).items()}

    @classmethod
    def networks(cls, config, info) -> dict[str, keras.Model]:
        """Extra networks the method trains (built before the model, saved inside it)."""
        return {}

    # --- the train step's hooks ---------------------------------------------------------

    def update_networks(self, model, x, y) -> dict[str, tuple[tf.Tensor, tf.Tensor]]:
        """``{metric: (value, weight)}``; weight 0 where the step did not measure it."""
        return {}

    def adversarial_examples(self, model, x, y) -> tf.Tensor:
        loss = self.attack_loss(self.attack_reference(model, x))
        return training_pgd(model.inference_fn(), x, y, loss=loss, **self.attack.kwargs(),
                            **self.attack_options(model, y))

    def attack_options(self, model, y) -> dict:
        """Extra ``training_pgd`` arguments (FAT's early stop and step noise)."""
        return {}

    def perturbed_weights(self, model, x, x_adv, y, count):
        """A context inside which the gradient is taken; AWP perturbs the weights in it."""
        return contextlib.nullcontext()

    def loss_terms(self, model, x, x_adv, y, training: bool = True) -> dict[str, tf.Tensor]:
        return self.terms(self.forward(model, x, x_adv, y, training), y)

    # --- what a method defines ------------------------------------------------------------

    def forward(self, model, x, x_adv, y, training: bool) -> Passes:
        """The passes the loss reads; by default F(x_adv) only."""
        return Passes(model.adversarial_pass(x_adv, y, x, training))

    @abc.abstractmethod
    def head_terms(self, logits_adv, logits_clean, labels, **extra) -> dict[str, tf.Tensor]:
        """Per-example terms of the method on one head; must include ``loss``."""

    @abc.abstractmethod
    def attack_head_loss(self, logits_adv, labels, reference_logits) -> tf.Tensor:
        """Per-example loss the training attack maximises on one head."""

    def attack_reference(self, model, x) -> ModelOutputs | None:
        """Outputs the attack loss compares with (TRADES' F(x)); None by default."""
        return None

    # --- AGAIN's dual combination ---------------------------------------------------------

    def terms(self, passes: Passes, labels) -> dict[str, tf.Tensor]:
        """The main head's terms (``loss`` renamed ``loss_base``), ``loss_aux`` (mean over the
        ASE heads) when there are any, and ``loss = loss_base + beta_aux * loss_aux``."""
        main, aux = per_head(lambda adv, clean, **extra: self.head_terms(adv, clean, labels, **extra),
                             passes.adv, passes.clean, **passes.extra)
        terms = {("loss_base" if k == "loss" else k): v for k, v in main.items()}
        aux = [t["loss"] for t in aux]
        if aux:
            terms["loss_aux"] = tf.add_n(aux) / len(aux)
        terms["loss"] = dual(terms["loss_base"], [terms["loss_aux"]] if aux else [], self.beta_aux)
        return terms

    def attack_loss(self, reference: ModelOutputs | None) -> Callable:
        """Per-example loss of the model's outputs to maximise; through the ASE heads too when
        ``attack_aux``."""
        def loss(outputs, labels):
            main, aux = per_head(lambda adv, ref: self.attack_head_loss(adv, labels, ref), outputs, reference)
            return dual(main, aux if self.attack_aux else [], self.beta_aux)
        return loss

    def get_config(self) -> dict:
        return {"name": self.name, "beta_aux": self.beta_aux, "attack_aux": self.attack_aux,
                **{arg: getattr(self, arg) for arg in self.all_options()}}
