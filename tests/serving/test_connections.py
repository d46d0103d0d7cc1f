"""serving.local's connections: no request smuggled in a refused body, idle and slow clients
cut off at their timeout, the connection cap and the in-flight budget answered 503, chunked
bodies and HTTP/1.0 keep-alive as RFC 9112 says, and concurrency 32 without a connection error."""

from __future__ import annotations

import json
import socket
import time

import pytest

from bench.http_load import chunked, run_load
from bench.http_load import raw_request as request
from tests.engine.helpers import fashion
from tests.serving.conftest import MAX_CONNECTIONS, TIMEOUT, serve_in_process
from tests.serving.raw_http import exchange

PREDICT = "/v1/models/again:predict"
BODY = json.dumps({"instances": fashion(n_train=1, n_test=8)[2].tolist()}).encode()
INNER = request("POST", PREDICT, {"Content-Length": len(BODY)}, BODY)  # a valid predict request


@pytest.mark.parametrize("first,status", [
    (request("POST", "/v1/models/nope:predict", {"Content-Length": len(INNER)}), 404),
    (request("POST", "/v2/anything", {"Content-Length": len(INNER)}), 404),
    (request("PUT", PREDICT, {"Content-Length": len(INNER)}), 405),
    (request("POST", PREDICT, [("Content-Length", str(len(INNER))), ("Content-Length", "5")]), 400),
], ids=["unknown model", "unknown path", "PUT", "two Content-Length"])
def test_a_request_in_a_refused_body_is_never_run(local_server, first, status):
    """The body of a request refused from its headers is a whole predict request, sent on a
    keep-alive connection: one answer comes back, then the connection closes."""
    result = exchange(local_server.url, first + INNER, wait=10, expect=2)
    assert [r.status for r in result.responses] == [status], result
    assert result.responses[0].headers["connection"] == "close" and result.leftover == b""
    assert result.closed_after is not None and result.closed_after < 5


def test_keep_alive_chunked_and_http_1_0(local_server):
    two = exchange(local_server.url, INNER + request("GET", "/v1/models/again"), wait=20, expect=2)
    assert [r.status for r in two.responses] == [200, 200] and len(json.loads(two.responses[0].body)
                                                                   ["predictions"]) == 8
    sent = request("POST", PREDICT, {"Transfer-Encoding": "chunked"}, chunked(BODY, 4000))
    assert json.loads(exchange(local_server.url, sent, wait=20, expect=1).responses[0].body) == \
        json.loads(two.responses[0].body)
    old = request("GET", "/v1/models/again", {"Connection": "keep-alive"}, version="1.0")
    kept = exchange(local_server.url, old * 2, wait=10, expect=2)
    assert [(r.status, r.headers["connection"].lower()) for r in kept.responses] == [(200, "keep-alive")] * 2
    plain = exchange(local_server.url, request("GET", "/v1/models/again", version="1.0"), wait=10)
    assert [r.status for r in plain.responses] == [200] and plain.closed_after < 5


@pytest.mark.parametrize("name,data,pace", [
    ("idle", b"", 0),
    ("slow headers, 1 byte every 0.5 s", request("GET", "/v1/models/again", {"X-Pad": "a" * 100}), 0.5),
    ("slow body, 1 byte every 0.5 s", request("POST", PREDICT, {"Content-Length": 200}) + b" " * 200, 0.5),
])
def test_idle_and_slow_connections_are_closed_at_the_timeout(local_server, name, data, pace):
    """The fixture's server has 3 s timeouts; each client here would take over a minute."""
    result = exchange(local_server.url, data, wait=TIMEOUT + 10, pace=pace)
    assert result.responses == [] and result.closed_after is not None, name
    assert TIMEOUT - 0.5 < result.closed_after < TIMEOUT + 4, (name, result.closed_after)


def test_past_the_connection_cap_the_answer_is_503_json(local_server):
    host, port = local_server.url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.5)  # let the server accept them all
        refused = exchange(local_server.url, request("GET", "/v1/models/again"), wait=5, expect=1)
        assert [r.status for r in refused.responses] == [503]
        assert f"{MAX_CONNECTIONS} connections open (--max-connections)" in refused.responses[0].error
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.5)
    served = exchange(local_server.url, request("GET", "/v1/models/again"), wait=5, expect=1)
    assert [r.status for r in served.responses] == [200]


def test_bodies_past_the_in_flight_budget_wait_for_a_503(predictor_64):
    """Two connections declare 600 kB each against a 1 MB budget: the second is refused before
    its body is read; once the first is gone, the same request is answered."""
    with serve_in_process(predictor_64, max_body_bytes=700_000, max_inflight_bytes=1_000_000) as running:
        host, port = running.url.removeprefix("http://").split(":")
        holder = socket.create_connection((host, int(port)), timeout=5)
        holder.sendall(request("POST", PREDICT, {"Content-Length": 600_000}))
        time.sleep(0.5)
        busy = exchange(running.url, request("POST", PREDICT, {"Content-Length": 600_000}), wait=5, expect=1)
        assert [r.status for r in busy.responses] == [503] and busy.closed_after is not None
        assert "bytes of request bodies in flight, the limit is 1000000" in busy.responses[0].error
        holder.close()
        time.sleep(0.5)
        assert exchange(running.url, INNER, wait=20, expect=1).responses[0].status == 200


@pytest.mark.slow
def test_concurrency_32_without_keep_alive_has_no_connection_error(local_server):
    """10 s of 32 clients, a new connection per request (batches of 8): every request answered."""
    result = run_load(local_server.url, "POST", PREDICT, BODY, concurrency=32, keep_alive=False,
                      requests=5000, duration=10, timeout=60)
    assert dict(result.errors) == {} and result.ok >= 32, (result.ok, dict(result.errors))
    print(f"concurrency 32, no keep-alive: {result.ok} requests in {result.elapsed:.1f} s, "
          f"p99 {result.percentile_ms(99):.0f} ms")
