"""TF Serving's REST API over a Predictor, without any HTTP library: routes, framing checks,
answers. The HTTP server (serving.http_server) calls these in order: ``route`` and ``body_length``
on the headers, before a byte of the body is read; ``answer`` on the whole body, in a worker
thread. Every error is ``{"error": "..."}`` with the status of its ServingError class.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import tensorflow as tf

from serving import json_codec
from serving.errors import (
    BadRequest,
    LengthRequired,
    MethodNotAllowed,
    NotFound,
    NotImplementedMethod,
    ServingError,
    TooLarge,
)
from serving.predictor import Predictor
from serving.rest_format import MAX_DEPTH, parse_predict_body

# RFC 9110's methods: any other is 501 Not Implemented, these are 405 where a path does not take them
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)"
                    r"(?:/versions/(?P<version>\d{1,18})|/labels/(?P<label>[^/:]+))?"
                    r"(?P<verb>/metadata|:[A-Za-z]+)?$")
_VERBS = {"GET": (None, "/metadata"), "POST": (":predict", ":classify", ":regress")}


@dataclass(frozen=True)
class Route:
    method: str
    name: str
    version: int | None
    label: str | None
    verb: str | None

    @property
    def has_body(self) -> bool:
        return self.method == "POST"


def route(method: str, path: str) -> Route:
    """The request's target; NotFound / MethodNotAllowed / NotImplementedMethod in TF Serving's
    words otherwise."""
    if method not in HTTP_METHODS:
        raise NotImplementedMethod(f"Not implemented: method {method[:32]!r}; this server answers GET "
                                   "(status, metadata) and POST (:predict).")
    match = _ROUTE.match(path)
    if not match:
        raise NotFound(f"Malformed request: {method} {path[:200]}; paths are /v1/models/<name>"
                       "[/versions/<v>][/metadata|:predict].")
    verb = match["verb"]
    if method not in _VERBS:
        raise MethodNotAllowed(f"Method not allowed: {method} {path[:200]}; use GET for status and metadata, "
                               "POST for :predict.")
    if verb not in _VERBS[method]:
        raise NotFound(f"Malformed request: {method} {path}; use GET for status and metadata, "
                       "POST for :predict.")
    version = int(match["version"]) if match["version"] else None
    return Route(method, match["name"], version, match["label"], verb)


def body_length(content_lengths: Sequence[str], transfer_encoding: str | None, has_body: bool,
                max_body_bytes: int) -> int | None:
    """The declared body length (None: chunked), checked as RFC 9112 section 6 asks, before
    reading: one Content-Length of digits (equal duplicates allowed), not with Transfer-Encoding,
    which must be ``chunked``; a POST needs one of them (411); over ``max_body_bytes`` is 413."""
    values = {v.strip() for item in content_lengths for v in item.split(",")}
    if transfer_encoding is not None:
        if values:
            raise BadRequest("both Transfer-Encoding and Content-Length; send one of them (RFC 9112 6.1).")
        if transfer_encoding.strip().lower() != "chunked":
            raise NotImplementedMethod(f"Transfer-Encoding {transfer_encoding[:40]!r} is not supported; "
                                       "send a Content-Length or Transfer-Encoding: chunked.")
        return None
    if len(values) > 1:
        raise BadRequest(f"conflicting Content-Length headers {sorted(values)}; send one (RFC 9112 6.3).")
    if not values:
        if has_body:
            raise LengthRequired("a POST needs a Content-Length header (or Transfer-Encoding: chunked).")
        return 0
    value = values.pop()
    if not value.isdigit() or not value.isascii():
        raise BadRequest(f"invalid Content-Length {value[:40]!r}; send the body's size in bytes as digits.")
    check_size(int(value), max_body_bytes)
    return int(value)


def check_size(size: int, max_body_bytes: int) -> None:
    if size > max_body_bytes:
        raise TooLarge(f"request body of {size} bytes is over this server's limit of {max_body_bytes} bytes "
                       "(--max-body-bytes); send fewer images per request.")


def json_value_budget(predictor: Predictor) -> int:
    """The most JSON values a legitimate request can hold: a batch of ``max_batch`` examples of
    the widest signature, each input element with one list per dimension around it, plus slack."""
    widest = 0
    for specs in predictor.input_specs.values():
        per_example = 0
        for spec in specs.values():
            dims = spec.shape.as_list()[1:]
            if None in dims:  # a free dimension: no bound from the signature
                return 2**62
            per_example += math.prod(dims) * (len(dims) + 2) + 8
        widest = max(widest, per_example)
    return predictor.max_batch * widest + 1024


def answer(predictor: Predictor, where: Route, body: bytes | bytearray, max_values: int,
           max_depth: int = MAX_DEPTH) -> bytes:
    """The JSON answer of a routed request (servable already checked); ServingError otherwise."""
    if where.method == "GET":
        return json_codec.encode(predictor.status() if where.verb is None else predictor.metadata())
    if where.verb != ":predict":
        raise BadRequest(f"{where.verb[1:]} is not supported: this model exports predict signatures; "
                         "use :predict.")
    request = json_codec.decode(body, max_values, predictor.numeric_examples())
    signature = (request.get("signature_name") if isinstance(request, dict) else None) or "serving_default"
    if not isinstance(signature, str):
        raise BadRequest("signature_name must be a string.")
    inputs, columnar = parse_predict_body(request, predictor.input_names(signature),
                                          predictor.string_inputs(signature), max_depth)
    return json_codec.encode_response(predictor.predict(signature, inputs), columnar)


def error_body(err: ServingError) -> tuple[int, bytes]:
    return getattr(err, "status", 400), json_codec.encode({"error": str(err)})


def predictor_error(err: Exception) -> tuple[int, bytes]:
    """A bug or a TensorFlow failure: 500 with the exception's type, never a traceback."""
    if isinstance(err, tf.errors.OpError):
        text = f"internal error in TensorFlow: {err.message.splitlines()[0]}"
    else:
        text = f"internal error: {type(err).__name__}; the server log has more."
    return 500, json_codec.encode({"error": text})
