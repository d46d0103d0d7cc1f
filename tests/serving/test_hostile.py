"""serving.local (the subprocess) against the issue's hostile requests: each is refused with its
status and a JSON error, before the memory it asks for is committed, and the server's answers
afterwards are unchanged. Loopback only; every case is one bounded exchange."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from bench.http_load import chunked
from bench.http_load import raw_request as request
from serving.client import RestClient
from serving.limits import Limits
from tests.engine.helpers import fashion
from tests.serving.conftest import MAX_BATCH
from tests.serving.raw_http import exchange, rss_mb

PREDICT = "/v1/models/again:predict"
MAX_BODY = Limits().max_body_bytes
MAX_GROWTH_MB = 300  # the measure: 49 bytes of gRPC grew the old server by 3,450 MB
IMAGES = fashion(n_train=1, n_test=4)[2]


def _nested(depth: int, signature: str = "serving_default") -> bytes:
    return (f'{{"signature_name": "{signature}", "instances": '.encode() + b"[" * depth + b"0.5"
            + b"]" * depth + b"}")


def _many_values() -> bytes:  # ~15 MB of empty lists: under the body cap, over the JSON value budget
    return b'{"instances": [' + b"[]," * 5_000_000 + b"[]]}"


def _post(body: bytes) -> bytes:
    return request("POST", PREDICT, {"Content-Length": len(body)}, body)


def _raw(headers, body: bytes = b"", method: str = "POST") -> bytes:
    return request(method, PREDICT, headers, body)


BYTES_SIGNATURE = "predict_images_bytes"
REST_CASES = [  # name, raw request, sent in pieces of (0: at once), status, error text
    ("60 MB JSON body, refused from its header",
     _raw({"Content-Length": 60 * 2**20}, b'{"instances": [' + b"[0.5]," * 200_000), 65536, 413,
     f"over this server's limit of {MAX_BODY} bytes"),
    ("Content-Length 10**15, no body", _raw({"Content-Length": 10**15}), 0, 413, "--max-body-bytes"),
    ("Content-Length: -1", _raw({"Content-Length": "-1"}), 0, 400, "invalid Content-Length '-1'"),
    ("Content-Length: abc", _raw({"Content-Length": "abc"}), 0, 400, "invalid Content-Length 'abc'"),
    ("two differing Content-Length", _raw([("Content-Length", "5"), ("Content-Length", "6")], b"{}   "), 0,
     400, "conflicting Content-Length headers ['5', '6']"),
    ("Content-Length and chunked", _raw({"Content-Length": 5, "Transfer-Encoding": "chunked"}, b"0\r\n\r\n"),
     0, 400, "both Transfer-Encoding and Content-Length"),
    ("Transfer-Encoding: gzip", _raw({"Transfer-Encoding": "gzip"}), 0, 501,
     "Transfer-Encoding 'gzip' is not supported"),
    ("chunked body over the cap", _raw({"Transfer-Encoding": "chunked"}, chunked(b"[" * (MAX_BODY + 2**20))),
     65536, 413, f"over this server's limit of {MAX_BODY} bytes"),
    ("POST without a length", _raw({}), 0, 411, "a POST needs a Content-Length"),
    ("JSON 900 deep, float input", _post(_nested(900)), 0, 400,
     "nested lists deeper than the 64 dimensions NumPy allows"),
    ("JSON 900 deep, bytes input", _post(_nested(900, BYTES_SIGNATURE)), 0, 400,
     "JSON nested more than 32 deep"),
    ("JSON 5000 deep", _post(_nested(5000)), 0, 400, "malformed JSON"),
    ("15 MB of empty lists", _post(_many_values()), 0, 400,
     "JSON values, more than a batch of this server's maximum size needs"),
    ("unknown method BREW", _raw({"Content-Length": 0}, method="BREW"), 0, 501,
     "Not implemented: method 'BREW'"),
    ("method PUT", _raw({"Content-Length": 0}, method="PUT"), 0, 405, "Method not allowed: PUT"),
]


def _tensor(dims, **values) -> tensor_pb2.TensorProto:
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d)
                                                   for d in dims])
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape, **values)


INVALID, EXHAUSTED = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED
GRPC_CASES = [  # name, input tensor, status, details text
    ("declared [600000, 28, 28, 1], one float_val", _tensor([600_000, 28, 28, 1], float_val=[0.5]), INVALID,
     f"batch of 600000 is over this server's maximum of {MAX_BATCH}"),
    ("float_val count off", _tensor([2, 28, 28, 1], float_val=[0.5] * 5), INVALID,
     "5 values in float_val for shape [2, 28, 28, 1], which holds 1568"),
    ("tensor_content length off", _tensor([4, 28, 28, 1], tensor_content=b"\0" * 400), INVALID,
     "tensor_content has 400 bytes; shape [4, 28, 28, 1] of DT_FLOAT needs 12544"),
    ("declared [1, 10**8, 1, 1]", _tensor([1, 10**8, 1, 1], float_val=[0.5]), INVALID,
     "declares 100000000 elements"),
    ("negative dimension", _tensor([-1, 28, 28, 1], float_val=[0.5]), INVALID,
     "negative (unknown) dimension"),
    ("message over the cap", _tensor([64, 28, 28, 1], tensor_content=b"\0" * (MAX_BODY + 1)), EXHAUSTED,
     "larger than max"),
]


@pytest.fixture(scope="module")
def reference(local_server):
    """The answer to a fixed batch before any hostile request."""
    return RestClient(local_server.url, "again", timeout=30).predict_images(IMAGES)


def _still_answers(local_server, reference) -> None:
    answer = RestClient(local_server.url, "again", timeout=30).predict_images(IMAGES)
    np.testing.assert_array_equal(answer["logits"], reference["logits"])
    np.testing.assert_array_equal(answer["classes"], reference["classes"])


@pytest.mark.parametrize("name,data,piece,status,message", REST_CASES, ids=[c[0] for c in REST_CASES])
def test_each_hostile_request_is_refused_in_json_within_memory(local_server, reference, name, data, piece,
                                                               status, message):
    before = rss_mb(local_server.process.pid)
    result = exchange(local_server.url, data, wait=30, piece=piece, expect=1)
    growth = rss_mb(local_server.process.pid) - before
    assert [r.status for r in result.responses] == [status], (name, result)
    assert message in result.responses[0].error, name
    assert result.responses[0].headers["content-type"] == "application/json"
    assert growth < MAX_GROWTH_MB, f"{name}: the server grew by {growth:.0f} MB"
    if status != 400 or "Content-Length" in message:  # refused from the headers: the body is never read
        assert result.closed_after is not None and result.closed_after < 10, name
    _still_answers(local_server, reference)


@pytest.mark.parametrize("name,tensor,code,message", GRPC_CASES, ids=[c[0] for c in GRPC_CASES])
def test_each_hostile_grpc_request_is_refused_before_its_array_exists(local_server, reference, name, tensor,
                                                                      code, message):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "again"
    request.inputs["images"].CopyFrom(tensor)
    before = rss_mb(local_server.process.pid)
    with grpc.insecure_channel(local_server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
    growth = rss_mb(local_server.process.pid) - before
    assert caught.value.code() == code and message in caught.value.details(), (name, caught.value.details())
    assert growth < MAX_GROWTH_MB, f"{name}: the server grew by {growth:.0f} MB"
    _still_answers(local_server, reference)


def test_a_well_formed_grpc_tensor_still_works(local_server, reference):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "again"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(IMAGES))
    with grpc.insecure_channel(local_server.grpc_target) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["logits"]), reference["logits"], atol=1e-5)
