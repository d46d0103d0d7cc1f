"""LBGAT (Cui et al., ICCV 2021, "Learnable boundary guided adversarial training").

A guide network, trained on clean data jointly with the robust one (same optimizer, same
schedule), anchors the robust model's logits on x_adv to its own logits on x
(``objectives.lbgat.lbgat_terms``); x_adv comes from TRADES' KL attack (start x + 0.001 N(0, 1)).
The robust model still runs on x in training mode at beta 0 ("LBGAT0"), as the original does, so
that its BatchNorm statistics see clean batches as well as adversarial ones.
"""

from __future__ import annotations

from again_tf.config.schema import AgainConfig
from again_tf.methods.base import Method, Passes
from again_tf.methods.trades import CleanPass, KLAttack
from again_tf.models.classifier import Classifier
from again_tf.models.factory import build_backbone
from again_tf.objectives.lbgat import lbgat_terms


class LBGAT(KLAttack, CleanPass, Method):
    name = "lbgat"
    term_names = ("mse", "ce_guide", "kl")
    options = {"beta": "lbgat_beta"}

    def __init__(self, *args, beta: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = float(beta)

    @classmethod
    def networks(cls, config, info):
        """The guide: the same architecture without AGAIN sites, trained by the same optimizer."""
        plain = build_backbone(config.model, AgainConfig(ase=False, hff=False), info.num_classes)
        return {"guide": Classifier(plain, info.num_classes, info.mean, info.std, name="guide")}

    def forward(self, model, x, x_adv, y, training):
        passes = super().forward(model, x, x_adv, y, training)
        guide_logits = model.networks["guide"](x, training=training)
        return Passes(passes.adv, passes.clean, {"guide_logits": guide_logits})

    def head_terms(self, logits_adv, logits_clean, labels, guide_logits=None):
        if guide_logits is None:
            raise ValueError("LBGAT's loss needs the guide network's logits on x; LBGAT.forward "
                             "passes them to the main head (the guide has no auxiliary heads).")
        return lbgat_terms(logits_adv, logits_clean, guide_logits, labels, self.beta)
