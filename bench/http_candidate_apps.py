"""The echo app of bench.http_candidates on each candidate library (run as a subprocess).

    python -m bench.http_candidate_apps <lib> <port>

Same behaviour on each: ``GET /ok`` answers ``{"ok": true}``; ``POST /echo`` reads the body
(refused with 413 from Content-Length before reading, or once a chunked body passes 1 MiB)
and answers its length; other paths 404, other methods 405, every answer JSON; after an early
error the connection is closed (``Connection: close``). Settings as the probe's docstring says.
"""

from __future__ import annotations

import asyncio
import json
import sys

CAP, TIMEOUT, MAX_CONNECTIONS, BACKLOG = 1 << 20, 2, 64, 1024


def _route(method: str, path: str, length: str | None) -> tuple[int, dict] | None:
    """An early answer (status, body) before the body is read, or None to read it."""
    if length is not None and not length.isdigit():
        return 400, {"error": f"invalid Content-Length {length!r}"}
    length = None if length is None else int(length)
    if path not in ("/ok", "/echo"):
        return 404, {"error": f"no path {path}"}
    if method not in ("GET", "POST"):
        return 405, {"error": f"method {method} not allowed"}
    if length is not None and length > CAP:
        return 413, {"error": f"body of {length} bytes over {CAP}"}
    return None


def _answer(path: str, size: int) -> dict:
    return {"ok": True} if path == "/ok" else {"bytes": size}


def serve_aiohttp(port: int) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        length = request.content_length
        early = _route(request.method, request.path, None if length is None else str(length))
        if early:
            response = web.json_response(early[1], status=early[0])
            response.force_close()
            return response
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > CAP:
                response = web.json_response({"error": "chunked body over cap"}, status=413)
                response.force_close()
                return response
        return web.json_response(_answer(request.path, size))

    app = web.Application(client_max_size=CAP)
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, backlog=BACKLOG, keepalive_timeout=TIMEOUT,
                print=None, access_log=None)


def serve_uvicorn(port: int) -> None:
    import uvicorn

    async def send_json(send, status: int, body: dict, close: bool = False) -> None:
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + ([(b"connection", b"close")] if close else [])})
        await send({"type": "http.response.body", "body": data})

    async def app(scope, receive, send):
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        early = _route(scope["method"], scope["path"], length and length.decode("latin-1"))
        if early:
            return await send_json(send, *early, close=True)
        size, more = 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), TIMEOUT)
            except TimeoutError:
                return await send_json(send, 408, {"error": "body too slow"}, close=True)
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
            if size > CAP:
                return await send_json(send, 413, {"error": "chunked body over cap"}, close=True)
        await send_json(send, 200, _answer(scope["path"], size))

    uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", backlog=BACKLOG, lifespan="off",
                timeout_keep_alive=TIMEOUT, limit_concurrency=MAX_CONNECTIONS, log_level="warning",
                access_log=False)


def serve_tornado(port: int) -> None:
    import tornado.httpserver
    import tornado.web

    @tornado.web.stream_request_body
    class Handler(tornado.web.RequestHandler):
        SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "BREW")

        def prepare(self):
            length = self.request.headers.get("Content-Length")
            self.size = 0
            early = _route(self.request.method, self.request.path, length)
            if early:
                self.set_status(early[0])
                self.set_header("Connection", "close")
                self.finish(early[1])

        def data_received(self, chunk: bytes) -> None:
            self.size += len(chunk)
            if self.size > CAP and not self._finished:
                self.set_status(413)
                self.set_header("Connection", "close")
                self.finish({"error": "chunked body over cap"})

        def get(self):
            if not self._finished:
                self.finish(_answer(self.request.path, self.size))

        post = get

        def write_error(self, status_code: int, **kwargs) -> None:
            self.finish({"error": self._reason})

    app = tornado.web.Application([(r"/.*", Handler)])
    server = tornado.httpserver.HTTPServer(app, idle_connection_timeout=TIMEOUT, body_timeout=TIMEOUT,
                                           max_body_size=2 * CAP)
    server.bind(port, "127.0.0.1", backlog=BACKLOG)
    server.start()
    asyncio.get_event_loop().run_forever()


def serve_waitress(port: int) -> None:
    import logging

    import waitress

    logging.getLogger("waitress").setLevel(logging.ERROR)

    def app(environ, start_response):
        length = environ.get("CONTENT_LENGTH")
        early = _route(environ["REQUEST_METHOD"], environ["PATH_INFO"], length)
        status, body = early or (200, _answer(environ["PATH_INFO"], len(environ["wsgi.input"].read())))
        data = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        start_response(f"{status} X", headers)  # WSGI apps may not send Connection (PEP 3333)
        return [data]

    waitress.serve(app, host="127.0.0.1", port=port, threads=4, connection_limit=MAX_CONNECTIONS,
                   channel_timeout=TIMEOUT, max_request_body_size=CAP, backlog=BACKLOG, _quiet=True)


SERVERS = {"aiohttp": serve_aiohttp, "uvicorn": serve_uvicorn, "tornado": serve_tornado,
           "waitress": serve_waitress}

if __name__ == "__main__":
    SERVERS[sys.argv[1]](int(sys.argv[2]))
