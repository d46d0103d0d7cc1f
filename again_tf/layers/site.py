"""An AGAIN site: optional HFF followed by optional ASE on one feature map of a backbone."""

from __future__ import annotations

import keras

from again_tf.config.schema import HFF_PLACEMENTS
from again_tf.layers.ase import ASE
from again_tf.layers.hff import HFF


@keras.saving.register_keras_serializable(package="again_tf")
class AgainSite(keras.layers.Layer):
    """HFF is applied before ASE ("HFF is used before ASE"); either may be absent (ablations).

    ``hff_placement``: ``before_ase`` (the spec) gives ASE the fused features for its head and its
    mask; ``mask_only`` lets the auxiliary head, which decides the deployed mask, read the features
    before HFF (one image's features for one image's label), while the mask still multiplies the
    fused features. ``call`` returns ``(features, aux_logits)``, ``aux_logits`` None when ASE is off.
    """

    def __init__(
        self,
        num_classes: int,
        use_ase: bool = True,
        alpha: float = 0.6,
        use_hff: bool = False,
        hff_probability: float = 1.0,
        hff_concentration: float = 1.0,
        hff_per_sample_gamma: bool = False,
        hff_placement: str = "before_ase",
        mask_source: str = "label",
        mask_temperature: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.use_ase = bool(use_ase)
        self.alpha = float(alpha)
        self.use_hff = bool(use_hff)
        self.hff_probability = float(hff_probability)
        self.hff_concentration = float(hff_concentration)
        self.hff_per_sample_gamma = bool(hff_per_sample_gamma)
        if hff_placement not in HFF_PLACEMENTS:
            raise ValueError(f"hff_placement {hff_placement!r}; allowed: {', '.join(HFF_PLACEMENTS)}.")
        self.hff_placement = hff_placement
        self.hff = (
            HFF(hff_probability, hff_concentration, hff_per_sample_gamma, name="hff")
            if self.use_hff
            else None
        )
        self.mask_source, self.mask_temperature = mask_source, float(mask_temperature)
        self.ase = ASE(num_classes, alpha, mask_source, mask_temperature, name="ase") if use_ase else None

    def build(self, input_shape):
        if self.ase is not None:
            self.ase.build(input_shape)

    def call(self, features, labels=None, training=None, paired=False):
        unfused = features
        if self.hff is not None:
            features = self.hff(features, training=training, paired=paired)
        if self.ase is None:
            return features, None
        head_input = unfused if self.hff_placement == "mask_only" else None
        return self.ase(features, labels=labels, training=training, head_input=head_input)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "use_ase": self.use_ase,
            "alpha": self.alpha,
            "use_hff": self.use_hff,
            "hff_probability": self.hff_probability,
            "hff_concentration": self.hff_concentration,
            "hff_per_sample_gamma": self.hff_per_sample_gamma,
            "hff_placement": self.hff_placement,
            "mask_source": self.mask_source,
            "mask_temperature": self.mask_temperature,
        }
