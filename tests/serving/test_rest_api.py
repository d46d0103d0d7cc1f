"""The REST routes and the server's limits, without a server: bad input is a ServingError with
the status it maps to, never a traceback."""

from __future__ import annotations

import math

import pytest

from serving import rest_api
from serving.errors import MethodNotAllowed, NotFound, ServingError
from serving.limits import Limits


def test_a_version_too_long_for_an_integer_is_a_404_not_a_500():
    with pytest.raises(NotFound, match="Malformed request"):
        rest_api.route("POST", "/v1/models/again/versions/" + "9" * 5000 + ":predict")
    assert rest_api.route("POST", "/v1/models/again/versions/12:predict").version == 12


def test_error_messages_do_not_echo_a_long_path():
    with pytest.raises(MethodNotAllowed) as err:
        rest_api.route("PUT", "/v1/models/" + "a" * 60000 + ":predict")
    assert len(str(err.value)) < 400


@pytest.mark.parametrize("bad", [math.nan, math.inf, True, 0, -1.0])
def test_limits_refuse_non_finite_boolean_and_non_positive_values(bad):
    with pytest.raises(ServingError, match="--idle-timeout: got"):
        Limits(idle_timeout=bad)
