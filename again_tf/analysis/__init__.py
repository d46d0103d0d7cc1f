"""The paper's analysis: attribution maps and how widely they spread."""

from again_tf.analysis.attribution import grad_cam, integrated_gradients, pixel_map
from again_tf.analysis.span import effective_support, mass_span

__all__ = ["effective_support", "grad_cam", "integrated_gradients", "mass_span", "pixel_map"]
