"""``python -m serving.local``: TF Serving's REST API (and optionally gRPC) without Docker.

    python -m serving.local serving_models/again [--port 8501] [--grpc-port 8500]
                            [--host 127.0.0.1] [--max-batch-size N]

For development, tests and machines without Docker; production uses TF Serving (see
docs/serving.md). It loads the newest version with ``tf.saved_model.load`` only and answers
the same paths and JSON as TF Serving: ``GET /v1/models/<name>[/versions/<v>]`` (status),
``GET .../metadata``, ``POST .../<name>[/versions/<v>]:predict`` (row or columnar, any
signature, ``{"b64": ...}`` for binary inputs). Errors are ``{"error": "..."}`` with a 4xx
status for anything the client can fix; the server keeps serving after each.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from serving import batching
from serving.errors import BadRequest, NotFound, ServingError
from serving.rest_format import parse_predict_body, response_body
from serving.versions import DEFAULT_MAX_BATCH, find_version

if TYPE_CHECKING:
    from serving.predictor import Predictor

MAX_BODY_BYTES = 64 * 2**20
_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
                    r"(?P<verb>/metadata|:[A-Za-z]+)?$")


class TooLarge(ServingError):
    status = 413


def handle(predictor: Predictor, method: str, path: str, read_body) -> tuple[int, dict]:
    """(HTTP status, JSON body) of one request; ``read_body()`` gives the raw body bytes."""
    match = _ROUTE.match(path.split("?", 1)[0])
    if not match:
        raise NotFound(f"Malformed request: {method} {path}; paths are /v1/models/<name>[/versions/<v>]"
                       "[/metadata|:predict].")
    version = int(match["version"]) if match["version"] else None
    predictor.check_servable(match["name"], version, match["label"])
    verb = match["verb"]
    if method == "GET" and verb in (None, "/metadata"):
        return 200, predictor.status() if verb is None else predictor.metadata()
    if method == "POST" and verb == ":predict":
        return 200, _predict(predictor, read_body())
    if method == "POST" and verb in (":classify", ":regress"):
        raise BadRequest(f"{verb[1:]} is not supported: this model exports predict signatures; use :predict.")
    raise NotFound(f"Malformed request: {method} {path}; use GET for status and metadata, POST for :predict.")


def _predict(predictor: Predictor, raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(f"malformed JSON ({err}); send an object like "
                         "{\"instances\": [...]} or {\"inputs\": {...}}.") from None
    signature = (body.get("signature_name") if isinstance(body, dict) else None) or "serving_default"
    if not isinstance(signature, str):
        raise BadRequest("signature_name must be a string.")
    inputs, columnar = parse_predict_body(body, predictor.input_names(signature))
    return response_body(predictor.predict(signature, inputs), columnar)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "again-serving-local"

    def do_GET(self):  # http.server calls do_<METHOD>
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            status, body = handle(self.server.predictor, method, self.path, self._read_body)
        except ServingError as err:
            status, body = getattr(err, "status", 400), {"error": str(err)}
        except Exception as err:  # a bug must not take the server down
            status, body = 500, {"error": f"internal error: {type(err).__name__}: {err}"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 413:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise TooLarge(f"request body of {length} bytes is over the {MAX_BODY_BYTES // 2**20} MiB limit; "
                           "send fewer images per request.")
        return self.rfile.read(length)

    def log_message(self, format, *args):
        if self.server.log_requests:
            super().log_message(format, *args)


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, predictor: Predictor, host: str = "127.0.0.1", port: int = 8501, log_requests=False):
        super().__init__((host, port), _Handler)
        self.predictor, self.log_requests = predictor, log_requests

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


def default_max_batch(model_dir: str | Path) -> int:
    """``max_batch_size`` of the export's batching file (next to models.config), as TF Serving
    with batching would enforce; else 128."""
    model_dir = Path(model_dir)
    for base in (model_dir.parent, model_dir.parent.parent):
        path = base / "batching_parameters.txt"
        if path.is_file():
            return batching.parse(path.read_text()).max_batch_size
    return DEFAULT_MAX_BATCH


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving.local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir",
                        help="<base>/<model> as written by serving.export (or one version folder)")
    parser.add_argument("--model-name", help="the name in the URLs (default: the folder's name)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501, help="REST port; 0 picks a free one")
    parser.add_argument("--grpc-port", type=int, help="also serve gRPC PredictionService.Predict here")
    parser.add_argument("--max-batch-size", type=int, help="largest batch accepted (default: the batching "
                        "file's max_batch_size, else 128)")
    parser.add_argument("--log-requests", action="store_true", help="log each request to stderr")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        version = find_version(args.model_dir, args.model_name)
        max_batch = args.max_batch_size or default_max_batch(args.model_dir)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # serving runs without again_tf's tf_startup
        from serving.predictor import Predictor

        predictor = Predictor(version, max_batch)
        server = LocalServer(predictor, args.host, args.port, args.log_requests)
        gc.freeze()  # the loaded model's objects are permanent: keep the GC from rescanning them per request
    except (ServingError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    line = f"serving.local: {version.name} version {version.version} on {server.url} (REST)"
    grpc_server = None
    if args.grpc_port is not None:
        from serving.grpc_service import start_grpc_server

        grpc_server, port = start_grpc_server(predictor, args.host, args.grpc_port)
        line += f", {args.host}:{port} (gRPC)"
    print(f"{line}; max batch {max_batch}. Production uses TF Serving.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if grpc_server is not None:
            grpc_server.stop(grace=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
