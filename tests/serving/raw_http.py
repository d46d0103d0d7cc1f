"""Raw HTTP/1.1 over loopback sockets for the hostile-network tests: bytes no well-behaved
client library would send, every answer read back as sent, and when the server closed."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def error(self) -> str:
        """The ``{"error": ...}`` text; fails the test if the body is not that JSON."""
        return json.loads(self.body)["error"]


@dataclass
class Exchange:
    responses: list[Response]
    closed_after: float | None  # seconds until the server closed; None: still open at the end
    leftover: bytes = b""  # bytes that are not a whole response


def parse(raw: bytes) -> tuple[list[Response], bytes]:
    """Successive responses (each with a Content-Length) and what is left."""
    found = []
    while raw.startswith(b"HTTP/") and b"\r\n\r\n" in raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            break
        found.append(Response(int(lines[0].split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return found, raw


def exchange(url: str, data: bytes, wait: float = 5.0, pace: float = 0.0, piece: int = 0,
             expect: int | None = None, close_wait: float = 2.0) -> Exchange:
    """Send ``data`` (one byte each ``pace`` s, or ``piece`` bytes at a time until the server
    answers), then read until the server closes or ``wait`` s have passed since the start; after
    ``expect`` whole responses, wait only ``close_wait`` s more for the close."""
    parts = urlparse(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=wait)
    start, got, closed = time.perf_counter(), b"", None
    step = 1 if pace else (piece or len(data) or 1)
    try:
        try:
            for offset in range(0, len(data), step):
                if select.select([sock], [], [], 0)[0] or time.perf_counter() - start > wait:
                    break  # the server answered (or closed) before the whole request was sent
                sock.sendall(data[offset:offset + step])
                time.sleep(pace)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we sent: read what it answered first
        while (left := wait - (time.perf_counter() - start)) > 0:
            sock.settimeout(left)
            chunk = sock.recv(1 << 16)
            if not chunk:
                closed = time.perf_counter() - start
                break
            got += chunk
            if expect is not None and len(parse(got)[0]) >= expect:
                wait = min(wait, time.perf_counter() - start + close_wait)
    except (BrokenPipeError, ConnectionResetError):
        closed = time.perf_counter() - start
    except TimeoutError:
        pass
    finally:
        sock.close()
    responses, leftover = parse(got)
    return Exchange(responses, closed, leftover)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")
