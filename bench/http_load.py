"""A small HTTP/1.1 load generator: ``concurrency`` clients on asyncio streams, one process.

Why not urllib threads: a load generator on the same 2 cores as the server must cost little per
request, or it measures itself. Each client sends the same pre-encoded request (encoded once,
as ``ab`` and ``wrk`` do) over one kept-alive connection, or a new connection per request
(``keep_alive=False``, with ``Connection: close``). The run is bounded by a request count and a
time limit, whichever comes first.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np


@dataclass
class LoadResult:
    """What a run measured; ``errors`` counts by kind (``reset``, ``timeout``, ``status 503``...)."""

    concurrency: int
    keep_alive: bool
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def requests_per_s(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, q: float) -> float:
        return float(1e3 * np.percentile(self.latencies, q)) if self.latencies else float("nan")


def raw_request(method: str, path: str, headers=(), body: bytes = b"", version: str = "1.1",
                host: str = "127.0.0.1") -> bytes:
    """A request's bytes exactly as given: headers (a dict or (name, value) pairs, repeats kept) are
    written as they are, so malformed framing can be sent on purpose."""
    items = headers.items() if isinstance(headers, dict) else headers
    lines = [f"{method} {path} HTTP/{version}", f"Host: {host}", *(f"{k}: {v}" for k, v in items)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(payload: bytes, size: int = 65536) -> bytes:
    """``payload`` in HTTP/1.1 chunked transfer coding, ``size`` bytes a chunk."""
    pieces = [payload[i:i + size] for i in range(0, len(payload), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"


def request_bytes(url: str, method: str, path: str, body: bytes = b"", keep_alive: bool = True,
                  content_type: str = "application/json") -> bytes:
    """One HTTP/1.1 request, encoded once and resent as is."""
    headers = [("Content-Length", len(body)), ("Content-Type", content_type),
               ("Connection", "keep-alive" if keep_alive else "close")]
    return raw_request(method, path, headers, body, host=urlsplit(url).netloc)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of one response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


class _Client:
    """One connection's loop: send, read, time; reconnect when the server closes."""

    def __init__(self, host: str, port: int, request: bytes, keep_alive: bool, result: LoadResult,
                 timeout: float):
        self.host, self.port, self.request, self.keep_alive = host, port, request, keep_alive
        self.result, self.timeout, self.streams = result, timeout, None

    async def one(self) -> None:
        start = time.perf_counter()
        try:
            if self.streams is None:
                self.streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.streams
            writer.write(self.request)
            status, headers, _ = await asyncio.wait_for(read_response(reader), self.timeout)
        except TimeoutError:  # before OSError, its base class
            self.result.errors["timeout"] += 1
            await self.close()
            return
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as err:
            self.result.errors["refused" if isinstance(err, ConnectionRefusedError) else "reset"] += 1
            await self.close()
            return
        if status == 200:
            self.result.latencies.append(time.perf_counter() - start)
        else:
            self.result.errors[f"status {status}"] += 1
        if not self.keep_alive or headers.get("connection", "").lower() == "close":
            await self.close()

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _run(url: str, request: bytes, concurrency: int, keep_alive: bool, requests: int,
               duration: float, timeout: float) -> LoadResult:
    parts = urlsplit(url)
    result = LoadResult(concurrency, keep_alive)
    left = [requests]
    deadline = time.perf_counter() + duration

    async def loop(client: _Client) -> None:
        while left[0] > 0 and time.perf_counter() < deadline:
            left[0] -= 1
            await client.one()
        await client.close()

    clients = [_Client(parts.hostname, parts.port, request, keep_alive, result, timeout)
               for _ in range(concurrency)]
    start = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in clients))
    result.elapsed = time.perf_counter() - start
    return result


def run_load(url: str, method: str, path: str, body: bytes = b"", concurrency: int = 1,
             keep_alive: bool = True, requests: int = 100, duration: float = 60.0,
             timeout: float = 30.0) -> LoadResult:
    """``requests`` requests (or fewer, if ``duration`` seconds pass first) from ``concurrency``
    clients; every response is read whole, non-200 answers count as errors."""
    request = request_bytes(url, method, path, body, keep_alive)
    return asyncio.run(_run(url, request, concurrency, keep_alive, requests, duration, timeout))
