"""Base class of the backbones: turns the AGAIN settings into sites at named positions."""

from __future__ import annotations

import keras
import tensorflow as tf

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
        again: dict | None = None,
        sync_batchnorm: bool = False,
        **kwargs,
    ):
        """``again`` holds the AgainSite arguments (use_ase, alpha, use_hff, hff_...); None or
        ``use_ase`` and ``use_hff`` both false gives the plain network."""
        super().__init__(**kwargs)
        unknown = [s for s in sites if s not in SITE_POSITIONS]
        if unknown:
            raise ValueError(f"Unknown AGAIN site(s) {unknown}; allowed: {list(SITE_POSITIONS)}.")
        self.num_classes = int(num_classes)
        self.sites = tuple(p for p in SITE_POSITIONS if p in sites)
        self.again = dict(again or {"use_ase": False, "use_hff": False})
        self.sync_batchnorm = bool(sync_batchnorm)

    @property
    def use_ase(self) -> bool:
        return bool(self.again.get("use_ase", True)) and bool(self.sites)

    def build(self, input_shape):
        """Creates every sublayer's weights with one inference pass on a zero image."""
        self.call(tf.zeros((1, *input_shape[1:])), training=False)
        self.built = True

    def make_site(self, position: str) -> AgainSite | None:
        """HFF goes on the first configured site only; a site with neither part is omitted."""
        if position not in self.sites:
            return None
        arguments = {**self.again, "use_hff": self.again.get("use_hff", False) and position == self.sites[0]}
        if not (arguments.get("use_ase", True) or arguments["use_hff"]):
            return None
        return AgainSite(self.num_classes, name=f"site_{position}", **arguments)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "sites": list(self.sites),
            "again": dict(self.again),
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
