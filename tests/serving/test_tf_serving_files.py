"""models.config and the warm-up requests, parsed with TF Serving's own protos."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving.errors import ServingError
from serving.tf_serving_files import WARMUP_FILE, models_config_text, read_warmup, warmup_logs


def _parse(text: str):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_models_config_lists_the_model_with_a_version_policy():
    config = _parse(models_config_text("again", "/models/again", num_versions=2))
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("again", "/models/again", "tensorflow")
    assert model.model_version_policy.WhichOneof("policy_choice") == "latest"
    assert model.model_version_policy.latest.num_versions == 2


def test_models_config_keeps_other_models_and_replaces_its_own():
    first = models_config_text("other", "/models/other")
    second = models_config_text("again", "/models/x", existing=first)
    text = models_config_text("again", "/models/old", existing=second)
    models = {m.name: m.base_path for m in _parse(text).model_config_list.config}
    assert models == {"other": "/models/other", "again": "/models/old"}
    with pytest.raises(ServingError, match="cannot parse the existing file"):
        models_config_text("again", "/models/again", existing="model_config_list { nonsense: 1 }")


def test_warmup_requests_cover_both_signatures_and_batch_sizes():
    logs = warmup_logs("again", (28, 28, 1), batch_sizes=(1, 8))
    seen = set()
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == "again"
        (key, proto), = request.inputs.items()
        value = tf.make_ndarray(proto)
        seen.add((request.model_spec.signature_name, key, value.shape))
        if key == "images":
            assert value.dtype == np.float32 and 0.0 <= value.min() and value.max() <= 1.0
    assert seen == {("serving_default", "images", (1, 28, 28, 1)),
                    ("serving_default", "images", (8, 28, 28, 1)),
                    ("predict_images_bytes", "image_bytes", (1,)),
                    ("predict_images_bytes", "image_bytes", (8,))}


def test_the_exported_warmup_file_replays_through_the_saved_model(exported):
    """TF Serving fails the model load if a warm-up request fails: each must run."""
    assert (exported.version_dir / WARMUP_FILE).is_file()
    logs = read_warmup(exported.version_dir)
    assert 1 <= len(logs) <= 1000
    loaded = tf.saved_model.load(str(exported.version_dir))
    for log in logs:
        request = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
        count = len(next(iter(inputs.values())))
        assert outputs["logits"].shape == (count, 10) and outputs["class_names"].shape == (count,)
