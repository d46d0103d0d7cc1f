"""Custom Keras layers of AGAIN, one per file."""

from again_tf.layers.ase import ASE, ase_mask
from again_tf.layers.hff import HFF, channel_statistics, hybrid_feature_fusion
from again_tf.layers.site import AgainSite

__all__ = ["ASE", "ase_mask", "HFF", "AgainSite", "channel_statistics", "hybrid_feature_fusion"]
