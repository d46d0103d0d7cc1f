"""The files TF Serving reads besides the SavedModel: models.config, batching, warm-up requests.

Layout under the export base (copied to ``/models`` in the Docker image)::

    models.config                 ModelServerConfig: model list with a version policy
    batching_parameters.txt       BatchingParameters (see serving.batching)
    <model>/<version>/            the SavedModel; assets.extra/tf_serving_warmup_requests inside
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from serving.batching import BatchingParameters, to_text
from serving.errors import ServingError
from serving.signatures import BYTES_INPUT, BYTES_SIGNATURE, IMAGES_INPUT, SERVING_DEFAULT

MODELS_CONFIG = "models.config"
BATCHING_FILE = "batching_parameters.txt"
WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
WARMUP_BATCH_SIZES = (1, 8)


def models_config_text(name: str, base_path: str, num_versions: int = 1, existing: str | None = None) -> str:
    """A ModelServerConfig serving ``name`` from ``base_path`` (as the server sees it), keeping
    the newest ``num_versions`` versions loaded; other models of ``existing`` stay listed."""
    config = model_server_config_pb2.ModelServerConfig()
    if existing:
        try:
            text_format.Parse(existing, config)
        except text_format.ParseError as err:
            raise ServingError(f"{MODELS_CONFIG}: cannot parse the existing file ({err}); "
                               "fix or delete it and export again.") from None
    models = config.model_config_list.config
    kept = [m for m in models if m.name != name]
    del models[:]
    models.extend(kept)
    model = models.add(name=name, base_path=base_path, model_platform="tensorflow")
    model.model_version_policy.latest.num_versions = num_versions
    return text_format.MessageToString(config)


def write_models_config(base_dir: Path, name: str, serving_base: str, num_versions: int = 1) -> Path:
    path = Path(base_dir) / MODELS_CONFIG
    existing = path.read_text() if path.is_file() else None
    path.write_text(models_config_text(name, f"{serving_base.rstrip('/')}/{name}", num_versions, existing))
    return path


def write_batching_parameters(base_dir: Path, params: BatchingParameters) -> Path:
    path = Path(base_dir) / BATCHING_FILE
    path.write_text(to_text(params))
    return path


def _predict_log(model_name: str, signature: str, key: str, value) -> prediction_log_pb2.PredictionLog:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def warmup_logs(model_name: str, image_shape: Sequence[int],
                batch_sizes: Sequence[int] = WARMUP_BATCH_SIZES) -> list[prediction_log_pb2.PredictionLog]:
    """Requests like real traffic, for each signature and batch size: seeded random images as
    floats and as PNG bytes. TF Serving replays them at load time and fails the load if one
    fails, so the exporter replays them too."""
    rng = np.random.default_rng(0)
    logs = []
    for size in batch_sizes:
        pixels = rng.integers(0, 256, size=(size, *image_shape), dtype=np.uint8)
        images = pixels.astype(np.float32) / 255.0
        logs.append(_predict_log(model_name, SERVING_DEFAULT, IMAGES_INPUT, images))
        encoded = [tf.io.encode_png(p).numpy() for p in pixels]
        logs.append(_predict_log(model_name, BYTES_SIGNATURE, BYTES_INPUT, np.array(encoded, dtype=object)))
    return logs


def write_warmup(version_dir: Path, logs: Sequence[prediction_log_pb2.PredictionLog]) -> Path:
    path = Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup(version_dir: Path) -> list[prediction_log_pb2.PredictionLog]:
    records = tf.data.TFRecordDataset(str(Path(version_dir) / WARMUP_FILE))
    return [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in records]
