"""How candidate HTTP server libraries cope with the hostile cases of serving.local's issue.

    pip install --target /tmp/cand/<lib> <lib>     # aiohttp | uvicorn httptools | tornado | waitress
    PYTHONPATH=.:/tmp/cand/<lib> python -m bench.http_candidates <lib> [--requests 2000]

Each library runs the same small echo app written the way its documentation recommends, with
the same settings (1 MiB body cap checked from Content-Length before reading, 2 s idle/read
timeouts, a cap of 64 connections, backlog 1024) where the library has them. The probe sends
raw bytes over loopback (smuggling after a 404, chunked bodies, conflicting or invalid
Content-Length, unknown methods, HTTP/1.0 keep-alive, idle and slow connections) and prints
what came back, then the echo's throughput with bench.http_load. Used once to choose the
library of serving.local (docs/serving.md, "Choosing the HTTP library"); it starts one server
subprocess per run and stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import http_candidate_apps
from bench.http_load import chunked as _chunked
from bench.http_load import raw_request as _http
from bench.http_load import run_load

ROOT = Path(__file__).resolve().parents[1]


def _send(port: int, data: bytes, wait: float = 3.0, pace: float = 0.0) -> tuple[bytes, float | None]:
    """Everything the server sends back within ``wait`` s, and when it closed (None: it did not)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    start, got = time.perf_counter(), b""
    try:
        if pace:  # slowloris: one byte per ``pace`` seconds
            for byte in data:
                sock.sendall(bytes([byte]))
                time.sleep(pace)
                if time.perf_counter() - start > wait:
                    break
        else:
            sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):  # closed by the server while we were sending
        sock.close()
        return b"", time.perf_counter() - start
    try:
        while time.perf_counter() - start < wait:
            sock.settimeout(max(0.01, wait - (time.perf_counter() - start)))
            chunk = sock.recv(65536)
            if not chunk:
                return got, time.perf_counter() - start
            got += chunk
    except (TimeoutError, BrokenPipeError):
        pass
    except ConnectionResetError:
        return got, time.perf_counter() - start
    finally:
        sock.close()
    return got, None


def _summary(raw: bytes, closed: float | None) -> str:
    """Status lines, whether bodies are JSON, and the close time."""
    parts, rest = [], raw
    while rest.startswith(b"HTTP/"):
        head, _, rest = rest.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0") or 0)
        body, rest = rest[:length], rest[length:]
        kind = "json" if body[:1] == b"{" else ("empty" if not body else f"text {body[:30]!r}")
        parts.append(f"{lines[0][9:]} [{kind}]" + (" conn=" + headers["connection"]
                                                    if "connection" in headers else ""))
    closed_text = f"closed after {closed:.1f}s" if closed is not None else "left open"
    return "; ".join(parts or ["no response"]) + f"; {closed_text}"


def cases() -> list[tuple[str, bytes, dict]]:
    """(name, raw request bytes, _send options)."""
    inner = _http("GET", "/ok", {})
    te = {"Transfer-Encoding": "chunked"}
    return [
        ("smuggled request in a 404's body", _http("POST", "/nope", {"Content-Length": len(inner)}) + inner,
         {}),
        ("chunked body, 3 chunks", _http("POST", "/echo", te, _chunked(b"x" * 150_000)), {}),
        ("chunked body over the 1 MiB cap", _http("POST", "/echo", te, _chunked(b"x" * (2 << 20))), {}),
        ("two differing Content-Length", _http("POST", "/echo", [("Content-Length", "5"),
                                                                 ("Content-Length", "6")], b"hello!"), {}),
        ("Content-Length: abc", _http("POST", "/echo", {"Content-Length": "abc"}), {}),
        ("Content-Length: -1", _http("POST", "/echo", {"Content-Length": "-1"}), {}),
        ("Content-Length 60 MB, no body sent", _http("POST", "/echo", {"Content-Length": 60 << 20}), {}),
        ("unknown method BREW", _http("BREW", "/echo", {"Content-Length": 0}), {}),
        ("method PUT", _http("PUT", "/echo", {"Content-Length": 0}), {}),
        ("HTTP/1.0 keep-alive, two requests", _http("GET", "/ok", {"Connection": "keep-alive"}, version="1.0")
         * 2, {}),
        ("idle connection (wait 8 s)", b"", {"wait": 8}),
        ("slow headers, 1 byte/0.5 s (wait 8 s)", _http("GET", "/ok", {"X-Pad": "a" * 40}), {"wait": 8,
                                                                                          "pace": 0.5}),
        ("slow body, 1 byte/0.5 s (wait 8 s)", _http("POST", "/echo", {"Content-Length": 60}) + b"y" * 60,
         {"wait": 8, "pace": 0.5}),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(lib: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.http_candidate_apps", lib, str(port)],
                               env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))})
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{lib}: the server did not start")


def _open_many(port: int, count: int) -> tuple[int, bool]:
    """(connections the server kept open, whether a request on a new one still got served)."""
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            break
    time.sleep(0.5)
    alive = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            alive += sock.recv(1) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    raw, _ = _send(port, _http("GET", "/ok", {"Connection": "close"}), wait=3)
    for sock in socks:
        sock.close()
    return alive, raw.startswith(b"HTTP/1.1 200")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.http_candidates")
    parser.add_argument("lib", choices=sorted(http_candidate_apps.SERVERS))
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    process, port = start(args.lib)
    report = {}
    try:
        for name, data, options in cases():
            report[name] = _summary(*_send(port, data, **options))
        alive, served = _open_many(port, 300)
        report["300 idle connections"] = f"{alive} open; a new request {'served' if served else 'NOT served'}"
        url = f"http://127.0.0.1:{port}"
        body = json.dumps({"instances": [[0.5] * 784] * 8}).encode()
        for label, path, data, concurrency, keep in (("GET c32 close", "/ok", b"", 32, False),
                                                      ("POST 60KB c8 keep-alive", "/echo", body, 8, True)):
            method = "POST" if data else "GET"
            result = run_load(url, method, path, data, concurrency, keep, args.requests, 60)
            report[label] = (f"{result.requests_per_s:.0f} req/s, p99 {result.percentile_ms(99):.1f} ms, "
                             f"errors {dict(result.errors)}")
    finally:
        process.terminate()
        process.wait(timeout=10)
    for name, line in report.items():
        print(f"{args.lib:9} | {name:40} | {line}")
    return report


if __name__ == "__main__":
    main()
