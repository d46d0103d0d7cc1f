"""From a run folder or a ``.keras`` checkpoint to the trained model and its data set's metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras

from again_tf.config import DEFAULT_PRESET, RunConfig, get_preset, load_config_file
from again_tf.config.paths import CHECKPOINTS
from again_tf.data.catalog import CATALOG, DatasetInfo, dataset_info
from again_tf.engine.model import AgainModel  # noqa: F401  (registered for load_model)
from again_tf.engine.precision import as_float32
from again_tf.errors import AgainError


class CheckpointError(AgainError):
    """A run folder or checkpoint that cannot be used; the message says what to pass instead."""


@dataclass(frozen=True)
class Source:
    checkpoint: Path
    config: Path | None  # the run's config.json, when there is one


def resolve_source(path: str | Path, checkpoint: str = "best_robust") -> Source:
    """A run folder gives ``checkpoints/<checkpoint>.keras``; a ``.keras`` file is used as is and
    finds its run's config.json two folders up (``<run>/checkpoints/x.keras``)."""
    path = Path(path)
    if checkpoint not in CHECKPOINTS:
        raise CheckpointError(f"checkpoint: got {checkpoint!r}; allowed: {', '.join(CHECKPOINTS)}.")
    if path.is_dir():
        file = path / "checkpoints" / f"{checkpoint}.keras"
        if not file.is_file():
            found = sorted(p.name for p in (path / "checkpoints").glob("*.keras"))
            raise CheckpointError(f"{path}: no checkpoints/{checkpoint}.keras (found: "
                                  f"{', '.join(found) or 'none'}); pass a training run folder or a "
                                  ".keras file.")
        config = path / "config.json"
        return Source(file, config if config.is_file() else None)
    if path.suffix == ".keras" and path.is_file():
        config = path.parent.parent / "config.json"
        return Source(path, config if config.is_file() else None)
    raise CheckpointError(f"{path}: not a run folder nor a .keras file; pass what training.train wrote "
                          "(runs/<name> or runs/<name>/checkpoints/best_robust.keras).")


def run_config(source: Source) -> RunConfig | None:
    """The run's resolved config, when the checkpoint has one beside it."""
    return load_config_file(source.config, get_preset(DEFAULT_PRESET)) if source.config else None


def deployable_checkpoint(path: str | Path) -> str:
    """The checkpoint to deploy from a run folder when none is named: ``best_robust`` when the run
    chose it on held-out training data, ``last`` when its validation saw test images (a model
    picked by its test score must not be the default)."""
    path = Path(path)
    config = path / "config.json"
    if path.is_dir() and config.is_file() and run_config(Source(path, config)).data.validates_on_test:
        return "last"
    return "best_robust"


def source_dataset(source: Source, dataset: str | None = None) -> DatasetInfo:
    """``dataset`` when given, else the run's ``data.dataset``."""
    if dataset is None and source.config is not None:
        dataset = run_config(source).data.dataset
    if dataset is None:
        raise CheckpointError(f"{source.checkpoint}: no config.json of its run to read the data set from; "
                              f"pass --dataset (one of: {', '.join(CATALOG)}).")
    if dataset not in CATALOG:
        raise CheckpointError(f"dataset: got {dataset!r}; allowed: {', '.join(CATALOG)}.")
    return dataset_info(dataset)


def load_trained_model(source: Source, info: DatasetInfo) -> keras.Model:
    """The AgainModel of the checkpoint, checked against the data set's image shape and classes,
    in float32 (a mixed-precision run is evaluated at full precision)."""
    try:
        model = keras.models.load_model(source.checkpoint, compile=False)
    except (OSError, ValueError, TypeError) as err:
        raise CheckpointError(f"{source.checkpoint}: cannot load the checkpoint ({err}).") from None
    built = tuple((model.get_build_config() or {}).get("input_shape") or ())[1:]
    if built and tuple(built) != tuple(info.image_shape):
        raise CheckpointError(f"{source.checkpoint}: the model takes {list(built)} images but "
                              f"{info.name} has {list(info.image_shape)}; pass the right --dataset.")
    if getattr(model, "num_classes", info.num_classes) != info.num_classes:
        raise CheckpointError(f"{source.checkpoint}: the model has {model.num_classes} classes but "
                              f"{info.name} has {info.num_classes}; pass the right --dataset.")
    return as_float32(model)
