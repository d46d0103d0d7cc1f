"""The SavedModel behind checks: versions, input conversion, TensorFlow's messages cleaned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from serving.errors import BadRequest, NotFound, ServingError
from serving.predictor import Predictor, tf_error_message, to_array
from serving.versions import find_version

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def predictor(exported):
    return Predictor(find_version(exported.model_dir), max_batch=4)


@pytest.mark.slow
def test_the_serving_side_does_not_need_the_training_package():
    code = ("import sys, serving.local, serving.client, serving.grpc_service; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('again_tf', 'training')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         timeout=120).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_find_version_takes_the_newest_complete_version(exported, tmp_path):
    assert find_version(exported.model_dir).version == 1
    model = tmp_path / "m"
    for name in ("2", "10", "11", ".staging-12"):
        (model / name).mkdir(parents=True)
    for name in ("2", "10"):
        (model / name / "saved_model.pb").write_bytes(b"")
    found = find_version(model)
    assert (found.name, found.version) == ("m", 10)
    assert find_version(model / "2", "x") == type(found)("x", 2, model / "2")
    with pytest.raises(ServingError, match="no <version>/saved_model.pb inside"):
        find_version(tmp_path / "empty")


def test_predict_matches_the_keras_model(exported, predictor):
    images = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype(np.float32)
    out = predictor.predict("serving_default", {"images": images.tolist()})
    expected = exported.model(images, training=False).numpy()
    assert np.max(np.abs(out["logits"] - expected)) <= 1e-5
    assert out["class_names"].dtype == object and out["classes"].dtype == np.int64


@pytest.mark.parametrize("signature,inputs,message", [
    ("serving_default", {"images": [[["a"]]]}, "images: expected float32 numbers; got string values"),
    ("serving_default", {"images": [[[0.1]], [[0.1, 0.2]]]}, "ragged nested lists"),
    ("serving_default", {"images": [[[[True]]]]}, "got boolean values"),
    ("serving_default", {"images": np.zeros((1, 28, 28)).tolist()},
     "images: expected shape [N, 28, 28, 1] (N examples); got [1, 28, 28]"),
    ("serving_default", {"images": []}, "images: empty batch"),
    ("serving_default", {"images": [0.5]}, "images: expected shape [N, 28, 28, 1] (N examples); got [1]"),
    ("serving_default", {"images": np.zeros((0, 28, 28, 1))}, "images: empty batch"),
    ("serving_default", {"images": np.zeros((5, 28, 28, 1))},
     "batch of 5 is over this server's maximum of 4"),
    ("serving_default", {"images": np.full((1, 28, 28, 1), 255.0)},
     "images: pixel values must be in [0, 1] (divide 8-bit pixels by 255); got min 255 max 255"),
    ("serving_default", {"pixels": np.zeros((1, 28, 28, 1))}, "takes inputs images; got pixels"),
    ("predict_images_bytes", {"image_bytes": [[1, 2]]}, "expected a list of strings"),
    ("predict_images_bytes", {"image_bytes": [b"GIF89a nonsense"]}, "Invalid GIF data"),
    ("nope", {}, "unknown signature_name 'nope'; this model has: predict_images_bytes, serving_default"),
])
def test_bad_inputs_raise_bad_request(predictor, signature, inputs, message):
    with pytest.raises(BadRequest) as caught:
        predictor.predict(signature, inputs)
    assert message in str(caught.value)


def test_servable_checks_use_tf_servings_words(predictor):
    predictor.check_servable("again")
    predictor.check_servable("again", 1)
    for args, message in ((("other",), "Servable not found for request: Latest(other)"),
                          (("again", 2), "Servable not found for request: Specific(again, 2)"),
                          (("again", None, "stable"), "Unrecognized servable version label: stable")):
        with pytest.raises(NotFound, match=message.replace("(", r"\(").replace(")", r"\)")):
            predictor.check_servable(*args)


def test_status_and_metadata_have_tf_servings_json_shape(predictor):
    assert predictor.status() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    meta = predictor.metadata()
    assert meta["model_spec"] == {"name": "again", "signature_name": "", "version": "1"}
    images = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["images"]
    assert images["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in images["tensor_shape"]["dim"]] == ["-1", "28", "28", "1"]


def test_tensorflow_errors_become_one_line():
    message = ("Graph execution error:\n\nDetected at node X defined at:\n<stack traces unavailable>\n"
               "assertion failed: [images: bad; got min] [2] [max] [3]\n"
               "\t [[{{node X}}]] [Op:__inference_f_1]")
    err = tf.errors.InvalidArgumentError(None, None, message)
    assert tf_error_message(err) == "images: bad; got min 2 max 3"


def test_to_array_converts_strings_and_numbers():
    assert to_array("s", ["a", b"b"], tf.string).tolist() == [b"a", b"b"]
    assert to_array("x", [[1, 2]], tf.float32).dtype == np.float32
