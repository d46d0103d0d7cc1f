"""Base class of the backbones: turns the AGAIN settings into sites at named positions."""

from __future__ import annotations

import keras

from again_tf.layers.site import AgainSite

# Positions in forward order: the residual branch of the last block, then the final features.
SITE_POSITIONS = ("block", "features")


class Backbone(keras.layers.Layer):
    """Builds features ``[N, h, w, C]`` from normalised images and collects auxiliary logits.

    Subclasses build their layers in ``__init__`` and call ``self.make_site(position)`` for each
    position they support. ``call(x, labels, training, paired)`` returns ``(features, aux)`` where
    ``aux`` lists the auxiliary logits of the ASE sites in forward order.
    """

    def __init__(
        self,
        num_classes: int,
        sites: tuple[str, ...] = SITE_POSITIONS,
        use_ase: bool = True,
        alpha: float = 0.6,
        use_hff: bool = False,
        hff_probability: float = 1.0,
        hff_concentration: float = 1.0,
        hff_per_sample_gamma: bool = False,
        sync_batchnorm: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        unknown = [s for s in sites if s not in SITE_POSITIONS]
        if unknown:
            raise ValueError(f"Unknown AGAIN site(s) {unknown}; allowed: {list(SITE_POSITIONS)}.")
        self.num_classes = int(num_classes)
        self.sites = tuple(p for p in SITE_POSITIONS if p in sites)
        self.use_ase, self.alpha = bool(use_ase), float(alpha)
        self.use_hff = bool(use_hff)
        self.hff_probability = float(hff_probability)
        self.hff_concentration = float(hff_concentration)
        self.hff_per_sample_gamma = bool(hff_per_sample_gamma)
        self.sync_batchnorm = bool(sync_batchnorm)

    def make_site(self, position: str) -> AgainSite | None:
        """HFF goes on the first configured site only; a site with neither part is omitted."""
        if position not in self.sites:
            return None
        use_hff = self.use_hff and position == self.sites[0]
        if not (self.use_ase or use_hff):
            return None
        return AgainSite(
            self.num_classes,
            use_ase=self.use_ase,
            alpha=self.alpha,
            use_hff=use_hff,
            hff_probability=self.hff_probability,
            hff_concentration=self.hff_concentration,
            hff_per_sample_gamma=self.hff_per_sample_gamma,
            name=f"site_{position}",
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "sites": list(self.sites),
            "use_ase": self.use_ase,
            "alpha": self.alpha,
            "use_hff": self.use_hff,
            "hff_probability": self.hff_probability,
            "hff_concentration": self.hff_concentration,
            "hff_per_sample_gamma": self.hff_per_sample_gamma,
            "sync_batchnorm": self.sync_batchnorm,
        }


def run_blocks(blocks, x, labels, training, paired):
    """Runs residual blocks in order and gathers the auxiliary logits of any site among them."""
    aux = []
    for block in blocks:
        x, block_aux = block(x, labels=labels, training=training, paired=paired)
        if block_aux is not None:
            aux.append(block_aux)
    return x, aux
