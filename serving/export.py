"""``python -m serving.export SOURCE``: the deployed model as a SavedModel in TF Serving's layout.

    python -m serving.export runs/<run> [--base-dir serving_models] [--model-name again]
                             [--version N] [--checkpoint best_robust|last] [--dataset NAME]

writes ``<base>/<model>/<version>/`` (version: the next integer unless given), with the
``serving_default`` (float images) and ``predict_images_bytes`` (encoded images) signatures and
TF Serving warm-up requests, and ``<base>/models.config`` and ``<base>/batching_parameters.txt``
for the server. The version folder appears only when complete (written aside, then renamed), so
a TF Serving polling the folder never loads half a model.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from again_tf.data.catalog import DatasetInfo
from again_tf.engine.checkpoints import CHECKPOINTS, load_trained_model, resolve_source, source_dataset
from again_tf.errors import AgainError
from serving import tf_serving_files as files
from serving.batching import BatchingParameters
from serving.errors import ServingError
from serving.signatures import serving_endpoints

DEFAULT_BASE_DIR = "serving_models"
DEFAULT_MODEL_NAME = "again"
SERVING_BASE = "/models"  # where the Docker image keeps the export base
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ExportResult:
    version_dir: Path
    version: int
    models_config: Path
    batching_file: Path


def next_version(model_dir: Path) -> int:
    """One more than the highest integer folder (TF Serving's versions), 1 for a new model."""
    versions = [int(p.name) for p in Path(model_dir).glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def write_saved_model(model: keras.Model, info: DatasetInfo, path: Path) -> None:
    """Only the endpoints' own variables are saved: ``archive.track(model)`` would also save
    each Keras variable a second time (its wrapper) next to the tf.Variable the graph uses."""
    archive = keras.export.ExportArchive()
    for name, (fn, signature) in serving_endpoints(model, info.image_shape, info.class_names).items():
        archive.add_endpoint(name, fn, input_signature=signature)
    archive.write_out(str(path), verbose=False)


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
                 batching: BatchingParameters | None = None) -> ExportResult:
    """Exports ``source`` (run folder or .keras) as ``<base_dir>/<model_name>/<version>`` and
    (re)writes the base's models.config and batching file; see the module docstring."""
    if not _NAME.match(model_name):
        raise ServingError(f"model name: got {model_name!r}; use letters, digits, '_', '.', '-'.")
    if keep_versions < 1:
        raise ServingError(f"keep-versions: got {keep_versions}; use an integer >= 1.")
    found = resolve_source(source, checkpoint)
    info = source_dataset(found, dataset)
    model = load_trained_model(found, info)
    model_dir = Path(base_dir) / model_name
    version = _check_version(model_dir, version)
    final, staging = model_dir / str(version), model_dir / f".staging-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        write_saved_model(model, info, staging)
        logs = files.warmup_logs(model_name, info.image_shape)
        files.write_warmup(staging, logs)
        check_export(staging, model, logs)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(final, version,
                        files.write_models_config(base_dir, model_name, serving_base, keep_versions),
                        files.write_batching_parameters(base_dir, batching or BatchingParameters()))


def _check_version(model_dir: Path, version: int | None) -> int:
    if version is None:
        return next_version(model_dir)
    if version < 1:
        raise ServingError(f"version: got {version}; use an integer >= 1.")
    if (model_dir / str(version)).exists():
        raise ServingError(f"version {version} already exists in {model_dir}; pick another --version "
                           f"or omit it to use {next_version(model_dir)}.")
    return version


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a training run folder or a .keras checkpoint")
    parser.add_argument("--base-dir", default=DEFAULT_BASE_DIR, help="export base (default: %(default)s)")
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="default: %(default)s")
    parser.add_argument("--version", type=int, help="integer version (default: the next one)")
    parser.add_argument("--checkpoint", default="best_robust", choices=CHECKPOINTS,
                        help="which checkpoint of a run folder (default: %(default)s)")
    parser.add_argument("--dataset", help="the data set (default: the run's config.json)")
    parser.add_argument("--serving-base", default=SERVING_BASE,
                        help="the export base as the server sees it, written in models.config "
                        "(default: %(default)s)")
    parser.add_argument("--keep-versions", type=int, default=1, help="versions TF Serving keeps loaded")
    defaults = BatchingParameters()
    for field in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"):
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, default=getattr(defaults, field),
                            help="batching parameter (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        batching = BatchingParameters(args.max_batch_size, args.batch_timeout_micros,
                                      args.max_enqueued_batches, args.num_batch_threads)
        result = export_model(args.source, args.base_dir, args.model_name, args.version, args.checkpoint,
                              args.dataset, args.serving_base, args.keep_versions, batching)
    except (ServingError, AgainError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Exported {args.model_name} version {result.version} to {result.version_dir}\n"
          f"  signatures: serving_default (images float32 [N, H, W, C] in [0, 1]), "
          f"predict_images_bytes (image_bytes string [N])\n"
          f"  TF Serving files: {result.models_config}, {result.batching_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
