"""JSON for serving.local's REST side, on orjson: bounded decoding and NumPy-aware encoding.

Why orjson: the standard library's ``json`` took about two thirds of a request's time (parsing
25k floats of a batch of 32, writing the answer through ``tolist()``); orjson parses in C and
writes NumPy arrays directly (docs/serving.md, "Throughput"). Why a value bound: parsed JSON
costs up to ~60 bytes of Python objects per value (``[[],[],...]`` is 3 bytes a list), so the
value count, not the body size, bounds the memory; it is checked before parsing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from serving import numeric_json
from serving.errors import BadRequest
from serving.rest_format import to_json_value

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def value_bound(raw: bytes | bytearray) -> int:
    """An upper bound on the values (keys and containers included) JSON text holds: each is the
    top-level value, a container's first, or follows a comma or a colon. (Brackets, commas and
    colons inside strings only raise the bound.) A body of n bytes holds at most n values, so
    ``decode`` skips the count for short bodies."""
    return raw.count(b",") + raw.count(b":") + raw.count(b"[") + raw.count(b"{") + 1


def decode(raw: bytes | bytearray, max_values: int,
           examples: Sequence[tuple[tuple[int, ...], np.dtype]] = ()) -> Any:
    """The parsed body; BadRequest if it may hold more than ``max_values`` values or is not JSON.
    A numeric tensor of one of the ``examples`` (shape, dtype) comes back as a NumPy array
    (serving.numeric_json); orjson refuses nesting past 1,024 (without recursion in Python)."""
    if examples and (fast := numeric_json.decode(raw, examples, max_values)) is not None:
        return fast
    if len(raw) > max_values and value_bound(raw) > max_values:
        raise BadRequest(f"request body holds more than {max_values} JSON values, more than a batch of "
                         "this server's maximum size needs; split it into smaller requests.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"malformed JSON ({err}); send an object like "
                         "{\"instances\": [...]} or {\"inputs\": {...}}.") from None


def encode(body: Any) -> bytes:
    return orjson.dumps(body, option=_NUMPY)


def _column(name: str, array: np.ndarray) -> Any:
    """What orjson can write: numeric arrays as they are (C-contiguous), strings as text or
    ``{"b64": ...}`` (output names ending in ``_bytes``, as TF Serving)."""
    if array.dtype.kind in "OSU":
        return to_json_value(array, name.endswith("_bytes"))
    return np.ascontiguousarray(array)


def encode_response(outputs: Mapping[str, np.ndarray], columnar: bool) -> bytes:
    """TF Serving's predict answer: ``{"outputs": {...}}`` (columnar requests) or
    ``{"predictions": [{...}, ...]}`` (row requests), as ``rest_format.response_body`` builds it."""
    columns = {k: _column(k, v) for k, v in outputs.items()}
    if columnar:
        return encode({"outputs": columns})
    count = len(next(iter(columns.values())))
    return encode({"predictions": [{k: v[i] for k, v in columns.items()} for i in range(count)]})
