"""Configuration: typed frozen dataclasses, presets and overrides (imports nothing else here)."""

from again_tf.config.overrides import apply_overrides, field_paths, load_config_file
from again_tf.config.presets import DEFAULT_PRESET, PRESETS, get_preset
from again_tf.config.schema import (
    BACKBONES,
    DATASETS,
    METHODS,
    AgainConfig,
    AttackConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    RuntimeConfig,
    parse_method,
    with_method,
)

__all__ = [
    "BACKBONES", "DATASETS", "DEFAULT_PRESET", "METHODS", "PRESETS", "AgainConfig",
    "AttackConfig", "DataConfig", "EvalConfig", "ModelConfig", "ObjectiveConfig", "OptimConfig",
    "RunConfig", "RuntimeConfig", "apply_overrides", "field_paths", "get_preset", "load_config_file",
    "parse_method", "with_method",
]
