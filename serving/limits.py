"""The limits of serving.local, one place: each is a CLI flag with a default that is safe on a
2-core, 24 GB machine facing a hostile network (docs/serving.md, "Limits").

Every limit is checked before the memory it guards is committed: the body size from
Content-Length before reading, the in-flight budget before buffering, the JSON value count
before parsing, the batch and the declared TensorProto shape before building arrays.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass

from serving.errors import ServingError
from serving.rest_format import MAX_DEPTH

MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """Defaults hold concurrency 32 without resets and refuse every case of the fuzz test."""

    max_body_bytes: int = 16 * MIB  # one REST body or gRPC message; 413 / RESOURCE_EXHAUSTED above
    max_inflight_bytes: int = 256 * MIB  # request bodies buffered at once, all connections; 503 above
    max_json_depth: int = MAX_DEPTH  # nesting of a JSON body; a tensor needs its rank + 3
    max_connections: int = 512  # open HTTP connections; the next one gets a 503 and is closed
    backlog: int = 1024  # listen() queue: connections waiting to be accepted
    idle_timeout: float = 30.0  # seconds to wait for a request's headers (idle keep-alive included)
    body_timeout: float = 60.0  # seconds to receive a whole body
    workers: int = 2  # threads decoding, predicting and encoding (HTTP); about the core count
    grpc_workers: int = 4  # gRPC handler threads
    grpc_max_concurrent_rpcs: int = 32  # RPCs in progress; RESOURCE_EXHAUSTED above

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise ServingError(f"--{field.name.replace('_', '-')}: got {value!r}; use a number > 0.")
        if self.max_inflight_bytes < self.max_body_bytes:
            raise ServingError(f"--max-inflight-bytes ({self.max_inflight_bytes}) is below --max-body-bytes "
                               f"({self.max_body_bytes}): no request of the maximum size could be read; "
                               "raise it.")


_HELP = {
    "max_body_bytes": "largest REST body / gRPC message in bytes (413 above)",
    "max_inflight_bytes": "request bytes buffered at once over all connections (503 above)",
    "max_json_depth": "deepest JSON nesting accepted (400 above)",
    "max_connections": "open HTTP connections at once (503 and close above)",
    "backlog": "listen queue length",
    "idle_timeout": "seconds to wait for a request's headers, idle keep-alive included",
    "body_timeout": "seconds to receive a whole request body",
    "workers": "threads that decode, predict and encode REST requests",
    "grpc_workers": "gRPC handler threads",
    "grpc_max_concurrent_rpcs": "gRPC calls in progress at once (RESOURCE_EXHAUSTED above)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per field, defaulting to the dataclass's value."""
    group = parser.add_argument_group("limits (docs/serving.md, \"Limits\")")
    for field in dataclasses.fields(Limits):
        group.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default),
                           default=field.default, help=f"{_HELP[field.name]} (default: %(default)s)")


def from_args(args: argparse.Namespace) -> Limits:
    return Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
