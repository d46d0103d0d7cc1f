"""A trained model as one TF Serving SavedModel version, with the server's files; the library
side of ``python -m serving.export`` (whose docstring describes the layout)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from again_tf.data.catalog import DatasetInfo
from again_tf.engine.checkpoints import load_trained_model, resolve_source, source_dataset
from serving import tf_serving_files as files
from serving.batching import BatchingParameters
from serving.errors import ServingError
from serving.export_defaults import (
    DEFAULT_BASE_DIR,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MODEL_NAME,
    SERVING_BASE,
)
from serving.signatures import BYTES_SIGNATURE, FORMATS, serving_endpoints

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# The bytes signature's limits, for people and tools (the graph holds its own copy of the cap):
# TF Serving reads nothing in assets.extra but the warm-up file, and saved_model_cli shows no constants.
LIMITS_FILE = Path("assets.extra") / "image_limits.json"
MAX_IMAGE_PIXELS_CEILING = 2 ** 29  # TensorFlow's PNG and JPEG decoders refuse bigger images anyway


@dataclass(frozen=True)
class ExportResult:
    version_dir: Path
    version: int
    models_config: Path
    batching_file: Path
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS


def next_version(model_dir: Path) -> int:
    """One more than the highest integer folder (TF Serving's versions), 1 for a new model."""
    versions = [int(p.name) for p in Path(model_dir).glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def write_saved_model(model: keras.Model, info: DatasetInfo, path: Path,
                      max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """Only the endpoints' own variables are saved: ``archive.track(model)`` would also save
    each Keras variable a second time (its wrapper) next to the tf.Variable the graph uses."""
    archive = keras.export.ExportArchive()
    endpoints = serving_endpoints(model, info.image_shape, info.class_names, max_image_pixels)
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=signature)
    archive.write_out(str(path), verbose=False)


def check_max_image_pixels(value: int, image_shape) -> int:
    """The cap must let the model's own image size through and mean something to TensorFlow."""
    smallest = int(image_shape[0]) * int(image_shape[1])
    if not smallest <= value <= MAX_IMAGE_PIXELS_CEILING:
        raise ServingError(f"max-image-pixels: got {value}; use an integer from {smallest} (the model's "
                           f"{image_shape[0]} x {image_shape[1]} input) to {MAX_IMAGE_PIXELS_CEILING} "
                           f"(default {DEFAULT_MAX_IMAGE_PIXELS}, 2048 x 2048).")
    return int(value)


def write_image_limits(version_dir: Path, max_image_pixels: int) -> Path:
    """``assets.extra/image_limits.json``: the cap baked into the bytes signature, readable
    without TensorFlow."""
    path = Path(version_dir) / LIMITS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    limits = {"signature": BYTES_SIGNATURE, "max_image_pixels": max_image_pixels, "formats": list(FORMATS)}
    path.write_text(json.dumps(limits, indent=2) + "\n")
    return path


def check_export(path: Path, model: keras.Model, logs) -> None:
    """Replays the warm-up requests through the written SavedModel, as TF Serving will at load
    time, and checks the float signature against the Keras model."""
    loaded = tf.saved_model.load(str(path))
    for log in logs:
        request = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
        if "images" in inputs:
            expected = model(inputs["images"], training=False).numpy()
            diff = float(np.max(np.abs(outputs["logits"].numpy() - expected)))
            if diff > 1e-4:
                raise ServingError(f"{path}: the SavedModel's logits differ from the Keras model's by "
                                   f"{diff:.3g}; please report this with the checkpoint.")


def export_model(source: str | Path, base_dir: str | Path = DEFAULT_BASE_DIR,
                 model_name: str = DEFAULT_MODEL_NAME, version: int | None = None,
                 checkpoint: str = "best_robust", dataset: str | None = None,
                 serving_base: str = SERVING_BASE, keep_versions: int = 1,
                 batching: BatchingParameters | None = None,
                 max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> ExportResult:
    """Exports ``source`` (run folder or .keras) as ``<base_dir>/<model_name>/<version>`` and
    (re)writes the base's models.config and batching file; see the module docstring.
    ``max_image_pixels`` caps each image the bytes signature decodes (width x height, summed
    over a GIF's frames)."""
    if not _NAME.match(model_name):
        raise ServingError(f"model name: got {model_name!r}; use letters, digits, '_', '.', '-'.")
    if keep_versions < 1:
        raise ServingError(f"keep-versions: got {keep_versions}; use an integer >= 1.")
    found = resolve_source(source, checkpoint)
    info = source_dataset(found, dataset)
    max_image_pixels = check_max_image_pixels(max_image_pixels, info.image_shape)
    model = load_trained_model(found, info)
    model_dir = Path(base_dir) / model_name
    version = _check_version(model_dir, version)
    final, staging = model_dir / str(version), model_dir / f".staging-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        write_saved_model(model, info, staging, max_image_pixels)
        write_image_limits(staging, max_image_pixels)
        logs = files.warmup_logs(model_name, info.image_shape)
        files.write_warmup(staging, logs)
        check_export(staging, model, logs)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(final, version,
                        files.write_models_config(base_dir, model_name, serving_base, keep_versions),
                        files.write_batching_parameters(base_dir, batching or BatchingParameters()),
                        max_image_pixels)


def _check_version(model_dir: Path, version: int | None) -> int:
    if version is None:
        return next_version(model_dir)
    if version < 1:
        raise ServingError(f"version: got {version}; use an integer >= 1.")
    if (model_dir / str(version)).exists():
        raise ServingError(f"version {version} already exists in {model_dir}; pick another --version "
                           f"or omit it to use {next_version(model_dir)}.")
    return version
