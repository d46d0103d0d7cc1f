"""serving.local's HTTP side on tornado: framing, timeouts and caps from the library, the
REST API from serving.rest_api.

Why tornado (docs/serving.md, "Choosing the HTTP library"): on the issue's hostile cases it was
the only candidate whose own settings bound every connection (header, idle and body timeouts),
whose strict HTTP/1.1 parser passes each malformed request to the application or refuses it,
and which lets the application refuse a request from its headers before a byte of the body is
read; one wheel, no dependencies. What it lacks, a connection cap and a budget of buffered bytes,
is here (``CappedHTTPServer``, ``Budget``).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import tornado.httpserver
import tornado.iostream
import tornado.web
from tornado import gen

from serving import json_codec, rest_api
from serving.errors import Busy, ServingError
from serving.limits import Limits
from serving.predictor import Predictor

_HEAD = 64 * 1024  # largest request head (request line and headers); tornado answers 400 above
_CHUNK = 256 * 1024  # body bytes per read: a batch of 32 float images is ~560 kB of JSON
log = logging.getLogger("serving.local")


class Budget:
    """Bytes of request bodies buffered at once, over all connections (IOLoop thread only)."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def take(self, size: int) -> None:
        if self.used + size > self.limit:
            raise Busy(f"server busy: {self.used} bytes of request bodies in flight, the limit is "
                       f"{self.limit} (--max-inflight-bytes); retry shortly.")
        self.used += size

    def give(self, size: int) -> None:
        self.used -= size


@dataclass
class State:
    """What every handler shares."""

    predictor: Predictor
    limits: Limits
    budget: Budget
    executor: ThreadPoolExecutor
    max_values: int
    log_requests: bool = False


@tornado.web.stream_request_body
class RestHandler(tornado.web.RequestHandler):
    """One request: checked from its headers in ``prepare`` (before the body), the body
    buffered under the caps in ``data_received``, answered in a worker thread."""

    SUPPORTED_METHODS = rest_api.HTTP_METHODS  # tornado answers others 405; write_error makes it 501

    def initialize(self, state: State) -> None:
        self.state, self.body, self.reserved, self.expected = state, bytearray(), 0, None
        self.handed_off = False  # a worker holds the body: its bytes stay counted until it returns

    def set_default_headers(self) -> None:
        self.set_header("Server", "again-serving-local")
        self.set_header("Content-Type", "application/json")

    def prepare(self) -> None:
        state, request = self.state, self.request
        try:
            self.route = rest_api.route(request.method, request.path)
            state.predictor.check_servable(self.route.name, self.route.version, self.route.label)
            self.expected = rest_api.body_length(request.headers.get_list("Content-Length"),
                                                 request.headers.get("Transfer-Encoding"),
                                                 self.route.has_body, state.limits.max_body_bytes)
            self._reserve(self.expected or 0)
        except ServingError as err:
            self._reply(*rest_api.error_body(err), close=True)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:  # refused early: tornado closes the connection after the answer
            return
        try:
            if self.expected is None:  # chunked: the cap and the budget grow with the body
                rest_api.check_size(len(self.body) + len(chunk), self.state.limits.max_body_bytes)
                self._reserve(len(chunk))
            self.body += chunk
        except ServingError as err:
            self._reply(*rest_api.error_body(err), close=True)

    async def get(self) -> None:
        await self._answer()

    async def post(self) -> None:
        await self._answer()

    async def _answer(self) -> None:
        state = self.state
        loop = asyncio.get_running_loop()
        self.handed_off = True
        try:
            data = await loop.run_in_executor(state.executor, rest_api.answer, state.predictor, self.route,
                                              self.body, state.max_values, state.limits.max_json_depth)
            status = 200
        except ServingError as err:
            status, data = rest_api.error_body(err)
        except Exception as err:  # a bug must not take the server down, nor leak a traceback
            log.exception("internal error on %s %s", self.request.method, self.request.path)
            status, data = rest_api.predictor_error(err)
        self.handed_off = False
        self._release()
        if not self._finished:
            self._reply(status, data)

    def _reserve(self, size: int) -> None:
        self.state.budget.take(size)
        self.reserved += size

    def _release(self) -> None:
        self.body = bytearray()
        self.state.budget.give(self.reserved)
        self.reserved = 0

    def _reply(self, status: int, data: bytes, close: bool = False) -> None:
        self.set_status(status)
        if close:  # the body may be unread: never parse it as the next request
            self.set_header("Connection", "close")
        try:
            self.finish(data)
        except tornado.iostream.StreamClosedError:  # the client left while we worked
            pass

    def write_error(self, status_code: int, **kwargs) -> None:
        """Errors tornado raises itself, JSON too: its 405 for a method outside HTTP's is our 501."""
        status, data = status_code, json_codec.encode({"error": f"{self._reason}; see docs/serving.md."})
        if status_code == 405:
            try:
                rest_api.route(self.request.method, self.request.path)
            except ServingError as err:
                status, data = rest_api.error_body(err)
        self._reply(status, data, close=True)

    def on_finish(self) -> None:
        self._release()

    def on_connection_close(self) -> None:
        """A client that leaves gets its bytes back only once no worker holds its body: dropping
        connections must not free the in-flight budget while the work still queues."""
        if not self.handed_off:
            self._release()

    def log_exception(self, typ, value, tb) -> None:
        if not isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)


class CappedHTTPServer(tornado.httpserver.HTTPServer):
    """tornado's HTTPServer with a cap on open connections: the next one is answered 503 (JSON,
    after its request head is read, so the client sees the answer, not a reset) and closed."""

    def initialize(self, *args, max_connections: int = 512, **kwargs) -> None:
        super().initialize(*args, **kwargs)
        self.max_connections, self.open_connections = max_connections, 0

    def handle_stream(self, stream: tornado.iostream.IOStream, address):
        if self.open_connections >= self.max_connections:
            return _refuse(stream, self.max_connections)
        self.open_connections += 1
        return super().handle_stream(stream, address)

    def on_close(self, server_conn) -> None:
        self.open_connections -= 1
        super().on_close(server_conn)


async def _refuse(stream: tornado.iostream.IOStream, cap: int) -> None:
    status, data = rest_api.error_body(Busy(f"server busy: {cap} connections open (--max-connections); "
                                            "retry shortly."))
    try:
        await gen.with_timeout(stream.io_loop.time() + 1, stream.read_until_regex(b"\r?\n\r?\n", _HEAD))
        head = (f"HTTP/1.1 {status} Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
        await stream.write(head + data)
    except (tornado.iostream.StreamClosedError, tornado.iostream.UnsatisfiableReadError, TimeoutError):
        pass
    stream.close()


def make_server(state: State) -> CappedHTTPServer:
    """The HTTP server (not yet listening); tornado's own body cap is a backstop at twice ours,
    so our JSON 413 comes first."""
    limits = state.limits
    app = tornado.web.Application([(r"/.*", RestHandler, {"state": state})], log_function=_log(state))
    return CappedHTTPServer(app, max_connections=limits.max_connections,
                            idle_connection_timeout=limits.idle_timeout, body_timeout=limits.body_timeout,
                            max_body_size=2 * limits.max_body_bytes, max_header_size=_HEAD, chunk_size=_CHUNK,
                            max_buffer_size=4 * _CHUNK + _HEAD, decompress_request=False)


def _log(state: State):
    def log_request(handler: tornado.web.RequestHandler) -> None:
        if state.log_requests:
            request = handler.request
            log.info("%s %s %d %.1f ms", request.method, request.path, handler.get_status(),
                     1e3 * request.request_time())
    return log_request
