"""Which exported model version to serve: found on disk without TensorFlow, so a wrong folder
fails before the TensorFlow import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from serving.errors import ServingError

DEFAULT_MAX_BATCH = 128


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    path: Path


def find_version(model_dir: str | Path, name: str | None = None) -> ModelVersion:
    """The newest ``<model_dir>/<int>/`` holding a SavedModel, or ``model_dir`` itself if it is one."""
    model_dir = Path(model_dir)
    if (model_dir / "saved_model.pb").is_file() and model_dir.name.isdigit():
        return ModelVersion(name or model_dir.parent.name, int(model_dir.name), model_dir)
    versions = sorted((int(p.name) for p in model_dir.glob("*")
                       if p.name.isdigit() and (p / "saved_model.pb").is_file()), reverse=True)
    if not versions:
        raise ServingError(f"{model_dir}: no <version>/saved_model.pb inside; pass the model folder "
                           "that serving.export wrote (e.g. serving_models/again).")
    return ModelVersion(name or model_dir.name, versions[0], model_dir / str(versions[0]))
