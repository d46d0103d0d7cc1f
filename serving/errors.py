"""Errors of the serving tools; each message names the problem and the fix.

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
