"""TF Serving's REST JSON for ``:predict``, both ways (numpy and the standard library only).

Requests carry tensors in row form (``"instances"``: one entry per example, or one object per
example with a key per named input) or columnar form (``"inputs"``: the tensor, or an object
of named tensors). Binary strings travel as ``{"b64": "..."}``. Responses mirror the request:
``"predictions"`` (a list of objects, one per example) or ``"outputs"`` (an object of tensors);
string outputs are plain strings unless the output name ends in ``_bytes``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from serving.errors import BadRequest, ServingError

MAX_DEPTH = 32  # deepest nesting walked in Python; a tensor of rank r needs r + 3


def _is_b64(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def to_json_value(value: Any, binary: bool = False) -> Any:
    """Nested lists of a tensor; bytes become ``{"b64": ...}`` (``binary``) or UTF-8 text."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "OSU":
            return value.tolist()
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, binary) for v in value]
    if isinstance(value, bytes):
        if binary:
            return {"b64": base64.b64encode(value).decode("ascii")}
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_json_value(value: Any, where: str, max_depth: int = MAX_DEPTH, _depth: int = 0) -> Any:
    """The inverse of ``to_json_value`` for requests: ``{"b64": ...}`` becomes bytes. Nesting past
    ``max_depth`` is refused: the walk recurses, and a hostile body may nest 1,000 deep."""
    if _depth > max_depth:
        raise BadRequest(f"{where}: JSON nested more than {max_depth} deep; a tensor needs only its rank "
                         "(send [N, H, W, C] nested lists).")
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f"{where}: invalid base64 in {{\"b64\": ...}}; encode the raw file bytes "
                             "with standard base64.") from None
    if isinstance(value, dict):
        raise BadRequest(f"{where}: unexpected object with keys {sorted(value)}; only {{\"b64\": ...}} "
                         "objects may appear inside a tensor.")
    if isinstance(value, list):
        if _plain(value):
            return value
        return [from_json_value(v, where, max_depth, _depth + 1) for v in value]
    return value


def _plain(value: list) -> bool:
    """True for rectangular lists of numbers or strings: nothing to decode, no need to walk
    every element in Python (a 32-image batch has 25k)."""
    try:
        return np.asarray(value).dtype.kind != "O"
    except ValueError:  # ragged: walk it; the dtype and shape checks report it
        return False


def predict_body(inputs: Mapping[str, Any], signature_name: str | None = None, columnar: bool = False,
                 binary_inputs: Sequence[str] = ()) -> dict:
    """The JSON object of a predict request; a single input is sent unnamed."""
    encoded = {k: to_json_value(v, k in binary_inputs) for k, v in inputs.items()}
    body: dict[str, Any] = {} if signature_name is None else {"signature_name": signature_name}
    if columnar:
        body["inputs"] = next(iter(encoded.values())) if len(encoded) == 1 else encoded
    elif len(encoded) == 1:
        body["instances"] = next(iter(encoded.values()))
    else:
        count = len(next(iter(encoded.values())))
        body["instances"] = [{k: v[i] for k, v in encoded.items()} for i in range(count)]
    return body


def parse_predict_body(body: Any, input_names: Sequence[str], walk: Collection[str] | None = None,
                       max_depth: int = MAX_DEPTH) -> tuple[dict[str, Any], bool]:
    """(named input values with bytes decoded, columnar?) of a predict request.

    Only the inputs in ``walk`` (default: all) are walked for ``{"b64": ...}``; a server passes
    its string inputs, so numeric tensors go to NumPy as parsed, in one conversion.
    """
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise BadRequest("request body must be a JSON object with exactly one of \"instances\" (row "
                         "format) or \"inputs\" (columnar format).")
    decode = _Decoder(input_names, input_names if walk is None else walk, max_depth)
    if "inputs" in body:
        return decode.named(body["inputs"], "inputs"), True
    instances = body["instances"]
    if isinstance(instances, np.ndarray):  # a numeric tensor, already parsed (serving.numeric_json)
        return decode.named(instances, "instances"), False
    if not isinstance(instances, list):
        raise BadRequest("\"instances\" must be a list with one entry per example.")
    if instances and all(isinstance(i, dict) and not _is_b64(i) for i in instances):
        rows = [decode.named(i, "instances") for i in instances]
        return {name: [row[name] for row in rows] for name in input_names}, False
    return decode.named(instances, "instances"), False


class _Decoder:
    def __init__(self, input_names: Sequence[str], walk: Collection[str], max_depth: int):
        self.input_names, self.walk, self.max_depth = input_names, set(walk), max_depth

    def value(self, name: str, value: Any) -> Any:
        return from_json_value(value, name, self.max_depth) if name in self.walk else value

    def named(self, value: Any, where: str) -> dict[str, Any]:
        input_names = self.input_names
        if not (isinstance(value, dict) and not _is_b64(value)):
            if len(input_names) != 1:
                raise BadRequest(f"{where}: this signature has inputs {', '.join(input_names)}; "
                                 "name each one.")
            return {input_names[0]: self.value(input_names[0], value)}
        unknown, missing = sorted(set(value) - set(input_names)), sorted(set(input_names) - set(value))
        if unknown or missing:
            raise BadRequest(f"{where}: the signature takes {', '.join(input_names)}; "
                             f"got unknown {unknown} and missing {missing}.")
        return {k: self.value(k, v) for k, v in value.items()}


def response_body(outputs: Mapping[str, np.ndarray], columnar: bool) -> dict:
    encoded = {k: to_json_value(v, k.endswith("_bytes")) for k, v in outputs.items()}
    if columnar:
        return {"outputs": encoded}
    count = len(next(iter(encoded.values())))
    return {"predictions": [{k: v[i] for k, v in encoded.items()} for i in range(count)]}


def parse_response_body(body: Any) -> dict[str, np.ndarray]:
    """Output name -> array, from either response form (a bare tensor is named ``output``)."""
    if isinstance(body, dict) and "outputs" in body:
        outputs = body["outputs"]
        named = outputs if isinstance(outputs, dict) else {"output": outputs}
        return {k: np.asarray(v) for k, v in named.items()}
    if isinstance(body, dict) and isinstance(body.get("predictions"), list):
        rows = body["predictions"]
        if rows and all(isinstance(r, dict) for r in rows):
            return {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
        return {"output": np.asarray(rows)}
    raise ServingError(f"unexpected predict response (no \"predictions\" or \"outputs\"): {str(body)[:200]}")
