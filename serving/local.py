"""``python -m serving.local``: TF Serving's REST API (and optionally gRPC) without Docker.

    python -m serving.local serving_models/again [--port 8501] [--grpc-port 8500]
                            [--host 127.0.0.1] [--max-batch-size N] [limits ...]

For development, tests and machines without Docker; production uses TF Serving (see
docs/serving.md). It loads the newest version with ``tf.saved_model.load`` only and answers
the same paths and JSON as TF Serving: ``GET /v1/models/<name>[/versions/<v>]`` (status),
``GET .../metadata``, ``POST .../<name>[/versions/<v>]:predict`` (row or columnar, any
signature, ``{"b64": ...}`` for binary inputs). HTTP runs on tornado, gRPC on grpcio; every
limit (body size, bytes in flight, connections, timeouts, JSON values and depth, batch) is a
flag below. Errors are ``{"error": "..."}`` with TF Serving's status; the server keeps
serving after each.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from serving import batching, limits
from serving.errors import ServingError
from serving.versions import DEFAULT_MAX_BATCH, find_version


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
    limits.add_arguments(parser)
    return parser.parse_args(argv)


@dataclass
class Running:
    """Both servers, started on the current event loop; ``stop()`` on that loop's thread."""

    http: object
    url: str
    grpc_server: object | None
    grpc_target: str | None
    executor: ThreadPoolExecutor

    def stop(self) -> None:
        self.http.stop()
        if self.grpc_server is not None:
            self.grpc_server.stop(grace=None)
        self.executor.shutdown(wait=False, cancel_futures=True)


def start(predictor, settings: limits.Limits, host: str = "127.0.0.1", port: int = 0,
          grpc_port: int | None = None, log_requests: bool = False) -> Running:
    """Listen on ``port`` (0: a free one) for REST and, if given, ``grpc_port`` for gRPC."""
    import tornado.netutil

    from serving.http_server import Budget, State, make_server
    from serving.rest_api import json_value_budget

    executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="rest")
    state = State(predictor, settings, Budget(settings.max_inflight_bytes), executor,
                  json_value_budget(predictor), log_requests)
    sockets = tornado.netutil.bind_sockets(port, host, backlog=settings.backlog)
    http = make_server(state)
    http.add_sockets(sockets)
    bound_host, bound_port = sockets[0].getsockname()[:2]
    grpc_server, grpc_target = None, None
    if grpc_port is not None:
        from serving.grpc_service import start_grpc_server

        grpc_server, bound = start_grpc_server(predictor, host, grpc_port, settings)
        grpc_target = f"{host}:{bound}"
    return Running(http, f"http://{bound_host}:{bound_port}", grpc_server, grpc_target, executor)


async def serve(predictor, settings: limits.Limits, args: argparse.Namespace) -> None:
    """Listen until SIGTERM or SIGINT, then stop both servers."""
    running = start(predictor, settings, args.host, args.port, args.grpc_port, args.log_requests)
    version = predictor.version
    line = f"serving.local: {version.name} version {version.version} on {running.url} (REST)"
    if running.grpc_target:
        line += f", {running.grpc_target} (gRPC)"
    print(f"{line}; max batch {predictor.max_batch}. Production uses TF Serving.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        running.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        settings = limits.from_args(args)
        version = find_version(args.model_dir, args.model_name)
        max_batch = args.max_batch_size or default_max_batch(args.model_dir)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # serving runs without again_tf's tf_startup
        from serving.predictor import Predictor

        predictor = Predictor(version, max_batch)
        gc.freeze()  # the loaded model's objects are permanent: keep the GC from rescanning them per request
        # a parsed batch of 32 images is ~26k lists: collect the young generation once per request, not
        # 37 times (a quarter of the JSON decoding time); parsed requests hold no reference cycles
        gc.set_threshold(50_000, 20, 20)
        logging.basicConfig(level=logging.INFO if args.log_requests else logging.WARNING,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        asyncio.run(serve(predictor, settings, args))
    except (ServingError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
