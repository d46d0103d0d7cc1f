"""Errors of the serving tools; each message names the problem and the fix, each class its HTTP
status.

Kept apart from ``again_tf.errors`` so the client and the local server run without the
training package.
"""


class ServingError(Exception):
    """Something the user can fix (bad path, unreachable server, rejected request)."""


class BadRequest(ServingError):
    """A request the server refuses: HTTP 400, gRPC INVALID_ARGUMENT."""

    status = 400


class NotFound(ServingError):
    """An unknown model, version or path: HTTP 404, gRPC NOT_FOUND."""

    status = 404


class MethodNotAllowed(ServingError):
    """A method HTTP knows but this path does not take: HTTP 405."""

    status = 405


class NotImplementedMethod(ServingError):
    """A method (or transfer coding) HTTP does not define: HTTP 501."""

    status = 501


class LengthRequired(ServingError):
    """A body-carrying request without Content-Length or chunked framing: HTTP 411."""

    status = 411


class TooLarge(ServingError):
    """A body or message over --max-body-bytes: HTTP 413, gRPC RESOURCE_EXHAUSTED."""

    status = 413


class Busy(ServingError):
    """Over a server-wide cap (connections, bytes in flight): HTTP 503; retrying later works."""

    status = 503
