"""``python -m serving.client``: classify images with a served model, over REST or gRPC.

    python -m serving.client shoe.png coat.jpg [more files ...] [--url http://localhost:8501]
    python -m serving.client images.npy --grpc localhost:8500
    python -m serving.client --status | --metadata

Image files go to the ``predict_images_bytes`` signature (the server decodes and resizes);
``.npy`` arrays (``[N, H, W, C]`` or ``[H, W, C]`` floats in [0, 1]) go to ``serving_default``.
Files are sent ``--batch-size`` per request. Prints, per image, the class name and its
probability, then the next ``--top-k - 1`` classes. Works against TF Serving (Docker) and
``python -m serving.local`` alike; HTTP uses only the standard library.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from serving.errors import ServingError
from serving.rest_format import parse_response_body, predict_body

SERVING_DEFAULT, BYTES_SIGNATURE = "serving_default", "predict_images_bytes"
IMAGES_INPUT, BYTES_INPUT = "images", "image_bytes"


class RestClient:
    """TF Serving's REST API for one model (and optionally one version)."""

    def __init__(self, url: str = "http://localhost:8501", model: str = "again", version: int | None = None,
                 timeout: float = 10.0):
        self.url, self.model, self.version, self.timeout = url.rstrip("/"), model, version, float(timeout)

    @property
    def model_path(self) -> str:
        versioned = f"/versions/{self.version}" if self.version is not None else ""
        return f"/v1/models/{self.model}{versioned}"

    def status(self) -> dict:
        return self.request("GET", self.model_path)

    def metadata(self) -> dict:
        return self.request("GET", f"{self.model_path}/metadata")

    def predict(self, inputs: dict, signature_name: str | None = None, columnar: bool = False,
                binary_inputs: Sequence[str] = ()) -> dict[str, np.ndarray]:
        body = predict_body(inputs, signature_name, columnar, binary_inputs)
        answer = self.request("POST", f"{self.model_path}:predict", json.dumps(body).encode())
        return parse_response_body(answer)

    def predict_images(self, images: np.ndarray, columnar: bool = False) -> dict[str, np.ndarray]:
        """``images``: ``[N, H, W, C]`` floats in [0, 1]."""
        return self.predict({IMAGES_INPUT: np.asarray(images)}, SERVING_DEFAULT, columnar)

    def predict_image_bytes(self, encoded: Sequence[bytes], columnar: bool = False) -> dict[str, np.ndarray]:
        """``encoded``: PNG/JPEG/... file contents, one per image."""
        return self.predict({BYTES_INPUT: list(encoded)}, BYTES_SIGNATURE, columnar,
                            binary_inputs=(BYTES_INPUT,))

    def request(self, method: str, path: str, data: bytes | None = None) -> dict:
        """The JSON answer; ServingError on a refused connection, a timeout or an error status."""
        url = f"{self.url}{path}"
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _json(response.read(), url)
        except urllib.error.HTTPError as err:
            detail = _error_text(err.read())
            raise ServingError(f"the server answered {err.code} to {method} {url}: {detail}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, TimeoutError):
                raise ServingError(f"no answer from {url} within {self.timeout:g} s; check the server or "
                                   "raise --timeout.") from None
            raise ServingError(f"cannot reach {self.url} ({reason}); start the server (docker run ... or "
                               "python -m serving.local) or fix --url.") from None


def _json(raw: bytes, url: str) -> dict:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ServingError(f"{url} did not answer JSON: {raw[:200]!r}") from None


def _error_text(raw: bytes) -> str:
    try:
        return str(json.loads(raw.decode("utf-8"))["error"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return raw[:500].decode("utf-8", "replace") or "(empty body)"


def make_predict_request(model: str, inputs: dict, signature_name: str = SERVING_DEFAULT,
                         version: int | None = None):
    """A ``tensorflow.serving.PredictRequest``; inputs are arrays, or lists of bytes for strings."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], bytes):
            value = np.array(value, dtype=object)
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


class GrpcClient:
    """``PredictionService.Predict`` of TF Serving's gRPC API (port 8500)."""

    def __init__(self, target: str = "localhost:8500", model: str = "again", version: int | None = None,
                 timeout: float = 10.0):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.target, self.model, self.version, self.timeout = target, model, version, float(timeout)
        self._channel = grpc.insecure_channel(target)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def predict(self, inputs: dict, signature_name: str = SERVING_DEFAULT) -> dict[str, np.ndarray]:
        import grpc
        import tensorflow as tf

        request = make_predict_request(self.model, inputs, signature_name, self.version)
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise ServingError(_grpc_error(err, self.target, self.timeout)) from None
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def predict_images(self, images: np.ndarray) -> dict[str, np.ndarray]:
        return self.predict({IMAGES_INPUT: np.asarray(images, dtype=np.float32)}, SERVING_DEFAULT)

    def predict_image_bytes(self, encoded: Sequence[bytes]) -> dict[str, np.ndarray]:
        return self.predict({BYTES_INPUT: list(encoded)}, BYTES_SIGNATURE)

    def close(self) -> None:
        self._channel.close()


def _grpc_error(err, target: str, timeout: float) -> str:
    import grpc

    code = err.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        return (f"cannot reach {target} ({err.details()}); start the server (docker run ... or "
                "python -m serving.local --grpc-port 8500) or fix --grpc.")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"no answer from {target} within {timeout:g} s; check the server or raise --timeout."
    return f"the server answered {code.name} to Predict: {err.details()}"


def load_inputs(paths: Iterable[str]) -> tuple[list[tuple[str, bytes]], list[tuple[str, np.ndarray]]]:
    """(encoded image files, float arrays) named for printing; arrays are split per image."""
    files, arrays = [], []
    for path in map(Path, paths):
        try:
            if path.suffix == ".npy":
                array = np.load(path).astype(np.float32)
                array = array[None] if array.ndim == 3 else array
                arrays += [(f"{path}[{i}]", image) for i, image in enumerate(array)]
            else:
                files.append((str(path), path.read_bytes()))
        except (OSError, ValueError) as err:
            raise ServingError(f"{path}: cannot read it ({err}).") from None
    return files, arrays


def classify(client, files, arrays, batch_size: int) -> list[tuple[str, np.ndarray, dict[int, str]]]:
    """(name, probabilities, class names by index) per input, ``batch_size`` per request.

    The server names only each image's top class, so the index -> name map is gathered over all
    answers; a class no image was assigned to prints as ``class <index>``.
    """
    results, names = [], {}
    groups = ((files, client.predict_image_bytes, False), (arrays, client.predict_images, True))
    for group, send, stack in groups:
        for start in range(0, len(group), batch_size):
            chunk = group[start:start + batch_size]
            values = [v for _, v in chunk]
            if stack and len({v.shape for v in values}) > 1:
                raise ServingError(f"arrays of different shapes in one batch ({chunk[0][0]} ...); every "
                                   "image must be [H, W, C] of the model.")
            outputs = send(np.stack(values) if stack else values)
            for index, name in zip(outputs["classes"].tolist(), outputs["class_names"].tolist()):
                names[int(index)] = name.decode() if isinstance(name, bytes) else str(name)
            results += [(name, outputs["probabilities"][i], names) for i, (name, _) in enumerate(chunk)]
    return results


def format_result(name: str, probabilities: np.ndarray, names: dict[int, str], top_k: int) -> str:
    order = np.argsort(-probabilities)[:max(top_k, 1)]
    label = lambda i: names.get(int(i), f"class {int(i)}")
    best, rest = order[0], order[1:]
    others = ", ".join(f"{label(i)} {probabilities[i]:.3f}" for i in rest)
    return f"{name}: {label(best)} {probabilities[best]:.3f}" + (f"  ({others})" if others else "")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving.client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="image files (PNG, JPEG, ...) or .npy arrays")
    parser.add_argument("--url", default="http://localhost:8501", help="REST endpoint (default: %(default)s)")
    parser.add_argument("--grpc", metavar="HOST:PORT", help="use gRPC at HOST:PORT instead of REST")
    parser.add_argument("--model", default="again", help="model name (default: %(default)s)")
    parser.add_argument("--version", type=int, help="model version (default: the server's latest)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per request (default: 32)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default: 10)")
    parser.add_argument("--top-k", type=int, default=3, help="classes printed per image (default: 3)")
    parser.add_argument("--status", action="store_true", help="print the model's status (REST)")
    parser.add_argument("--metadata", action="store_true", help="print the model's signatures (REST)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    if args.batch_size < 1:
        raise ServingError(f"--batch-size: got {args.batch_size}; use an integer >= 1.")
    rest = RestClient(args.url, args.model, args.version, args.timeout)
    for flag, call in (("status", rest.status), ("metadata", rest.metadata)):
        if getattr(args, flag):
            print(json.dumps(call(), indent=2))
    if not args.inputs:
        if not (args.status or args.metadata):
            raise ServingError("nothing to do: pass image files or .npy arrays, or --status / --metadata.")
        return
    files, arrays = load_inputs(args.inputs)
    client = GrpcClient(args.grpc, args.model, args.version, args.timeout) if args.grpc else rest
    for name, probabilities, names in classify(client, files, arrays, args.batch_size):
        print(format_result(name, probabilities, names, args.top_k))


def main(argv=None) -> int:
    try:
        run(parse_args(argv))
    except ServingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
