"""Reads the feature map each AGAIN site outputs during one eager forward pass: Grad-CAM on an
inner site needs that tensor, and the backbones return only the final features."""

from __future__ import annotations

import contextlib

_TAPS: list[dict] = []


@contextlib.contextmanager
def tap_sites():
    """``with tap_sites() as outputs: model(...)`` fills ``outputs[position]`` (``block``,
    ``features``) with each site's output; eager only (in a trace it would hold symbolic tensors)."""
    outputs: dict = {}
    _TAPS.append(outputs)
    try:
        yield outputs
    finally:
        _TAPS.remove(outputs)


def record(position: str, features) -> None:
    for outputs in _TAPS:
        outputs[position] = features
