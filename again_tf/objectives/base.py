"""The dual objective of spec section 3: a base AT loss on the main head and on each ASE head."""

from __future__ import annotations

import abc

import tensorflow as tf

from again_tf.models.outputs import ModelOutputs


class Objective(abc.ABC):
    """One adversarial-training method, with AGAIN's auxiliary terms when the model has ASE.

    Subclasses define ``base_terms`` (per-example training terms, one named ``loss``) and
    ``attack_base`` (the per-example loss the attack maximises). The same base is applied to
    the main logits and to every site's auxiliary logits:
    ``loss = base(main) + beta_aux * mean_sites base(aux_site)``.
    """

    name = "base"
    term_names: tuple[str, ...] = ()  # the base terms besides ``loss``
    default_init = "uniform"
    needs_clean_forward = False  # the training loss uses F(x) as well as F(x_adv)
    needs_attack_reference = False  # the attack loss compares with F(x) (TRADES' KL)
    needs_guide = False  # the training loss uses a guide network's logits on x (LBGAT)
    needs_strategy = False  # a strategy network picks each example's attack (LAS-AT)
    step_noise = 0.0  # std of Gaussian noise added to each training-attack step (FAT's omega)

    def __init__(self, beta_aux: float = 2.0, attack_aux: bool = True):
        self.beta_aux = float(beta_aux)
        self.attack_aux = bool(attack_aux)

    @abc.abstractmethod
    def base_terms(self, logits_adv, logits_clean, labels, guide_logits=None) -> dict[str, tf.Tensor]:
        """Per-example terms of the method on one head; must include ``loss``. ``guide_logits``
        (main head only) are a guide network's logits on x, for the methods that have one."""

    @abc.abstractmethod
    def attack_base(self, logits_adv, labels, reference_logits) -> tf.Tensor:
        """Per-example loss the attack maximises on one head."""

    def early_stop_tau(self, step: tf.Tensor) -> tf.Tensor | None:
        """FAT's budget at optimizer step ``step``: the training attack stops an example that
        many steps after it is misclassified. None: no early stopping (plain PGD)."""
        return None

    def attack_loss(self, adv: ModelOutputs, labels, reference: ModelOutputs | None = None):
        """Per-example loss to maximise; goes through the aux heads too when ``attack_aux``."""
        ref_main = reference.logits if reference is not None else None
        loss = self.attack_base(adv.logits, labels, ref_main)
        if self.attack_aux and adv.aux_logits:
            refs = reference.aux_logits if reference is not None else (None,) * len(adv.aux_logits)
            aux = [self.attack_base(a, labels, r) for a, r in zip(adv.aux_logits, refs)]
            loss = loss + self.beta_aux * tf.add_n(aux) / len(aux)
        return loss

    def loss_terms(self, adv: ModelOutputs, clean: ModelOutputs | None, labels, guide_logits=None):
        """Per-example terms: the base method's, ``loss_aux`` (mean over sites) and ``loss``."""
        clean_main = clean.logits if clean is not None else None
        terms = self.base_terms(adv.logits, clean_main, labels, guide_logits)
        terms = {("loss_base" if k == "loss" else k): v for k, v in terms.items()}
        total = terms["loss_base"]
        if adv.aux_logits:
            clean_aux = clean.aux_logits if clean is not None else (None,) * len(adv.aux_logits)
            aux = [
                self.base_terms(a, c, labels)["loss"]
                for a, c in zip(adv.aux_logits, clean_aux)
            ]
            terms["loss_aux"] = tf.add_n(aux) / len(aux)
            total = total + self.beta_aux * terms["loss_aux"]
        terms["loss"] = total
        return terms

    def get_config(self) -> dict:
        return {"name": self.name, "beta_aux": self.beta_aux, "attack_aux": self.attack_aux}
