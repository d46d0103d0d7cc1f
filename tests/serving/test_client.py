"""The client against ``python -m serving.local`` (a subprocess): REST and gRPC, good and bad input."""

from __future__ import annotations

import json
import re
import socket

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from again_tf.data.catalog import FASHION_CLASSES
from serving.client import GrpcClient, RestClient, main, make_predict_request
from serving.errors import ServingError
from tests.engine.helpers import fashion
from tests.serving.conftest import MAX_BATCH

IMAGES = fashion(n_train=1, n_test=32)[2]
PREDICT = "/v1/models/again:predict"


def _png(image: np.ndarray) -> bytes:
    return tf.io.encode_png(np.round(image * 255).astype(np.uint8)).numpy()


@pytest.fixture(scope="module")
def rest(local_server):
    return RestClient(local_server.url, "again", timeout=30)


def _check(outputs, images, model):
    logits = model(images, training=False).numpy()
    assert np.max(np.abs(outputs["logits"].astype(np.float32) - logits)) <= 1e-5
    np.testing.assert_array_equal(outputs["classes"], logits.argmax(axis=1))
    names = [n.decode() if isinstance(n, bytes) else n for n in outputs["class_names"].tolist()]
    assert names == [FASHION_CLASSES[c] for c in logits.argmax(axis=1)]


def test_a_single_image_and_a_batch_in_both_formats(rest, exported):
    _check(rest.predict_images(IMAGES[:1]), IMAGES[:1], exported.model)
    _check(rest.predict_images(IMAGES, columnar=True), IMAGES, exported.model)
    _check(rest.predict_image_bytes([_png(i) for i in IMAGES[:5]]), IMAGES[:5], exported.model)
    _check(rest.predict_image_bytes([_png(i) for i in IMAGES], columnar=True), IMAGES, exported.model)
    versioned = RestClient(rest.url, "again", version=1)
    _check(versioned.predict_images(IMAGES[:2]), IMAGES[:2], exported.model)


def test_status_and_metadata(rest):
    assert rest.status()["model_version_status"][0]["state"] == "AVAILABLE"
    signatures = rest.metadata()["metadata"]["signature_def"]["signature_def"]
    assert set(signatures["predict_images_bytes"]["outputs"]) == {"logits", "probabilities", "classes",
                                                                 "class_names"}


BAD_INPUTS = [
    ("wrong shape", lambda c: c.predict_images(np.zeros((2, 28, 28))), "expected shape [N, 28, 28, 1]"),
    ("wrong dtype", lambda c: c.predict({"images": np.full((1, 28, 28, 1), "x")}, "serving_default"),
     "expected float32 numbers; got string values"),
    ("out of range", lambda c: c.predict_images(IMAGES[:2] * 255),
     "pixel values must be in [0, 1] (divide 8-bit pixels by 255); got min 0 max 255"),
    ("undecodable", lambda c: c.predict_image_bytes([b"\x89PNG but not really"]), "PNG"),
    ("empty batch", lambda c: c.predict_images(np.zeros((0, 28, 28, 1))), "empty batch"),
    ("empty bytes batch", lambda c: c.predict_image_bytes([]), "empty batch"),
    ("huge batch", lambda c: c.predict_images(np.zeros((MAX_BATCH + 1, 28, 28, 1))),
     f"batch of {MAX_BATCH + 1} is over this server's maximum of {MAX_BATCH}"),
    ("unknown signature", lambda c: c.predict({"images": IMAGES[:1]}, "classify"),
     "unknown signature_name 'classify'"),
    ("malformed JSON", lambda c: c.request("POST", PREDICT, b'{"instances": [1,'), "malformed JSON"),
    ("neither format", lambda c: c.request("POST", PREDICT, b'{"signature_name": "serving_default"}'),
     "exactly one of \"instances\""),
]


@pytest.mark.parametrize("case,call,message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_each_bad_input_is_a_clear_400_and_the_server_stays_up(rest, local_server, case, call, message):
    with pytest.raises(ServingError) as caught:
        call(rest)
    assert "the server answered 400" in str(caught.value) and message in str(caught.value), case
    assert local_server.process.poll() is None
    assert rest.status()["model_version_status"][0]["state"] == "AVAILABLE"


def test_unknown_model_or_version_is_404(local_server):
    with pytest.raises(ServingError, match=r"answered 404 .*Specific\(again, 7\)"):
        RestClient(local_server.url, "again", version=7).predict_images(IMAGES[:1])
    with pytest.raises(ServingError, match=r"answered 404 .*Latest\(nope\)"):
        RestClient(local_server.url, "nope").status()


def test_connection_refused_and_timeouts_are_clear():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(ServingError, match=rf"cannot reach http://127.0.0.1:{port} .*start the server"):
        RestClient(f"http://127.0.0.1:{port}", timeout=2).status()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ServingError, match=r"no answer from .* within 0.5 s"):
            RestClient(url, timeout=0.5).status()


def test_predict_request_proto_round_trips():
    request = make_predict_request("again", {"images": IMAGES[:3]}, "serving_default", version=4)
    parsed = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert (parsed.model_spec.name, parsed.model_spec.signature_name) == ("again", "serving_default")
    assert parsed.model_spec.version.value == 4
    np.testing.assert_array_equal(tf.make_ndarray(parsed.inputs["images"]), IMAGES[:3])
    assert parsed.inputs["images"].dtype == tf.float32.as_datatype_enum
    encoded = [_png(i) for i in IMAGES[:2]]
    request = make_predict_request("again", {"image_bytes": encoded}, "predict_images_bytes")
    parsed = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert not parsed.model_spec.HasField("version")
    assert list(parsed.inputs["image_bytes"].string_val) == encoded
    assert [d.size for d in parsed.inputs["image_bytes"].tensor_shape.dim] == [2]


def test_grpc_predict_and_errors(local_server, exported):
    client = GrpcClient(local_server.grpc_target, "again", timeout=30)
    try:
        _check(client.predict_images(IMAGES[:4]), IMAGES[:4], exported.model)
        _check(client.predict_image_bytes([_png(i) for i in IMAGES[:3]]), IMAGES[:3], exported.model)
        with pytest.raises(ServingError, match="answered INVALID_ARGUMENT to Predict: images: pixel values"):
            client.predict_images(IMAGES[:1] + 1)
    finally:
        client.close()
    with pytest.raises(ServingError, match=r"answered NOT_FOUND .*Specific\(again, 9\)"):
        GrpcClient(local_server.grpc_target, "again", version=9).predict_images(IMAGES[:1])
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{free.getsockname()[1]}"
    with pytest.raises(ServingError, match=f"cannot reach {target}"):
        GrpcClient(target, timeout=5).predict_images(IMAGES[:1])


def test_the_cli_classifies_files_in_batches(local_server, tmp_path, capsys):
    paths = []
    for i, image in enumerate(IMAGES[:5]):
        paths.append(tmp_path / f"img{i}.png")
        paths[-1].write_bytes(_png(image))
    np.save(tmp_path / "two.npy", IMAGES[5:7])
    args = [*map(str, paths), str(tmp_path / "two.npy"), "--url", local_server.url, "--batch-size", "2"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and lines[0].startswith(f"{paths[0]}: ")
    assert lines[6].startswith(f"{tmp_path}/two.npy[1]: ")
    assert all(any(name in line for name in FASHION_CLASSES) for line in lines)
    assert main(["--grpc", local_server.grpc_target, str(paths[0]), "--top-k", "1"]) == 0
    assert re.fullmatch(rf"{paths[0]}: [^(]+ [01]\.\d{{3}}\n", capsys.readouterr().out)
    assert main(["--status", "--url", local_server.url]) == 0
    assert json.loads(capsys.readouterr().out)["model_version_status"][0]["version"] == "1"


@pytest.mark.parametrize("args,message", [
    ([], "nothing to do"),
    (["missing.png"], "missing.png: cannot read it"),
    (["--status", "--url", "http://127.0.0.1:9"], "cannot reach http://127.0.0.1:9"),
    (["x.png", "--batch-size", "0"], "--batch-size: got 0"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
