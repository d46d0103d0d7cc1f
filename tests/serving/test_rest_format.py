"""TF Serving's REST JSON: requests and responses in row and columnar form, b64 strings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.errors import BadRequest, ServingError
from serving.rest_format import parse_predict_body, parse_response_body, predict_body, response_body

IMAGES = np.arange(2 * 2 * 2 * 1, dtype=np.float32).reshape(2, 2, 2, 1) / 8


def test_row_and_columnar_requests_follow_the_documented_shapes():
    row = predict_body({"images": IMAGES}, "serving_default")
    assert row == {"signature_name": "serving_default", "instances": IMAGES.tolist()}
    assert predict_body({"images": IMAGES}, columnar=True) == {"inputs": IMAGES.tolist()}
    two = predict_body({"a": np.array([1, 2]), "b": np.array([3, 4])})
    assert two == {"instances": [{"a": 1, "b": 3}, {"a": 2, "b": 4}]}
    assert predict_body({"a": np.array([1, 2]), "b": np.array([3])}, columnar=True) == \
        {"inputs": {"a": [1, 2], "b": [3]}}


def test_binary_inputs_travel_as_b64_and_come_back_as_bytes():
    body = json.loads(json.dumps(predict_body({"image_bytes": [b"\x89PNG", b"\xff\xd8"]},
                                              binary_inputs=("image_bytes",))))
    assert body == {"instances": [{"b64": "iVBORw=="}, {"b64": "/9g="}]}
    assert parse_predict_body(body, ["image_bytes"]) == ({"image_bytes": [b"\x89PNG", b"\xff\xd8"]}, False)


@pytest.mark.parametrize("body,expected", [
    ({"instances": [[1.0], [2.0]]}, ({"x": [[1.0], [2.0]]}, False)),
    ({"instances": [{"x": [1.0]}, {"x": [2.0]}]}, ({"x": [[1.0], [2.0]]}, False)),
    ({"inputs": [[1.0], [2.0]]}, ({"x": [[1.0], [2.0]]}, True)),
    ({"inputs": {"x": [[1.0]]}, "signature_name": "s"}, ({"x": [[1.0]]}, True)),
    ({"inputs": {"b64": "AAE="}}, ({"x": b"\x00\x01"}, True)),
    ({"instances": []}, ({"x": []}, False)),
])
def test_requests_parse_in_every_documented_form(body, expected):
    assert parse_predict_body(body, ["x"]) == expected


@pytest.mark.parametrize("body,message", [
    ([1, 2], "exactly one of \"instances\""),
    ({"instances": [1], "inputs": [1]}, "exactly one of \"instances\""),
    ({}, "exactly one of \"instances\""),
    ({"instances": {"x": 1}}, "\"instances\" must be a list"),
    ({"inputs": {"y": [1]}}, "got unknown ['y'] and missing ['x']"),
    ({"instances": [{"b64": "%%%"}]}, "invalid base64"),
    ({"inputs": [[{"a": 1}]]}, "unexpected object with keys ['a']"),
])
def test_malformed_requests_name_the_problem(body, message):
    with pytest.raises(BadRequest) as caught:
        parse_predict_body(body, ["x"])
    assert message in str(caught.value)


def test_responses_round_trip_in_both_forms():
    outputs = {"logits": np.array([[0.5, -1.0], [2.0, 0.25]], np.float32), "classes": np.array([0, 0]),
               "class_names": np.array([b"T-shirt/top", b"Coat"], dtype=object)}
    row = json.loads(json.dumps(response_body(outputs, columnar=False)))
    assert row["predictions"][1] == {"logits": [2.0, 0.25], "classes": 0, "class_names": "Coat"}
    columnar = json.loads(json.dumps(response_body(outputs, columnar=True)))
    assert columnar["outputs"]["class_names"] == ["T-shirt/top", "Coat"]
    for body in (row, columnar):
        parsed = parse_response_body(body)
        np.testing.assert_array_equal(parsed["logits"], outputs["logits"])
        assert parsed["class_names"].tolist() == ["T-shirt/top", "Coat"]
    assert response_body({"raw_bytes": np.array([b"\x00"], dtype=object)}, True) == \
        {"outputs": {"raw_bytes": [{"b64": "AA=="}]}}
    with pytest.raises(ServingError, match="unexpected predict response"):
        parse_response_body({"result": []})
