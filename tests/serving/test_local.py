"""serving.local over raw HTTP: TF Serving's paths, request forms and error statuses."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlparse

import numpy as np
import pytest
import tensorflow as tf

from serving.batching import BatchingParameters, to_text
from serving.limits import Limits
from serving.local import default_max_batch, main
from tests.engine.helpers import fashion

IMAGES = fashion(n_train=1, n_test=3)[2]


def _call(url: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _b64(image: np.ndarray) -> dict:
    png = tf.io.encode_png(np.round(image * 255).astype(np.uint8)).numpy()
    return {"b64": base64.b64encode(png).decode()}


def test_every_request_form_gives_the_same_answer(local_server):
    url, images = local_server.url, IMAGES.tolist()
    forms = [
        {"instances": images},
        {"instances": [{"images": i} for i in images]},
        {"inputs": images},
        {"inputs": {"images": images}, "signature_name": "serving_default"},
        {"instances": [_b64(i) for i in IMAGES], "signature_name": "predict_images_bytes"},
        {"instances": [{"image_bytes": _b64(i)} for i in IMAGES], "signature_name": "predict_images_bytes"},
        {"inputs": {"image_bytes": [_b64(i) for i in IMAGES]}, "signature_name": "predict_images_bytes"},
    ]
    answers = []
    for body in forms:
        status, answer = _call(url, "POST", "/v1/models/again/versions/1:predict", body)
        assert status == 200, answer
        rows = answer.get("predictions") or [dict(zip(answer["outputs"], v)) for v in
                                             zip(*answer["outputs"].values())]
        assert len(rows) == 3 and set(rows[0]) == {"logits", "probabilities", "classes", "class_names"}
        answers.append(np.array([r["logits"] for r in rows]))
    for logits in answers[1:]:
        assert np.max(np.abs(logits - answers[0])) <= 1e-5


@pytest.mark.parametrize("method,path,status,message", [
    ("GET", "/v1/models/again", 200, None),
    ("GET", "/v1/models/again/versions/1", 200, None),
    ("GET", "/v1/models/again/metadata", 200, None),
    ("GET", "/v1/models/again/versions/2", 404, "Servable not found for request: Specific(again, 2)"),
    ("GET", "/v1/models/again/labels/stable", 404, "Unrecognized servable version label: stable"),
    ("GET", "/v1/models/other/metadata", 404, "Servable not found for request: Latest(other)"),
    ("GET", "/v2/models/again", 404, "Malformed request: GET /v2/models/again"),
    ("GET", "/v1/models/again:predict", 404, "use GET for status and metadata, POST for :predict"),
    ("POST", "/v1/models/again:classify", 400, "classify is not supported"),
])
def test_paths_and_statuses(local_server, method, path, status, message):
    got, answer = _call(local_server.url, method, path, b"{}" if method == "POST" else None)
    assert got == status
    if message:
        assert message in answer["error"]


def test_a_body_over_the_limit_is_refused_unread(local_server):
    limit = Limits().max_body_bytes
    status, answer = _call(local_server.url, "POST", "/v1/models/again:predict", b"",
                           {"Content-Length": str(limit + 1)})
    assert status == 413 and f"over this server's limit of {limit} bytes" in answer["error"]
    assert _call(local_server.url, "GET", "/v1/models/again")[0] == 200


def test_the_default_max_batch_comes_from_the_batching_file(exported, tmp_path):
    assert default_max_batch(exported.model_dir) == 128
    (tmp_path / "m" / "1").mkdir(parents=True)
    assert default_max_batch(tmp_path / "m") == 128
    (tmp_path / "batching_parameters.txt").write_text(to_text(BatchingParameters(max_batch_size=7)))
    assert default_max_batch(tmp_path / "m") == 7 and default_max_batch(tmp_path / "m" / "1") == 7


def test_a_folder_without_a_model_is_one_clear_line(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no <version>/saved_model.pb inside" in err
