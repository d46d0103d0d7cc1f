"""Configuration: typed frozen dataclasses, presets and overrides. It imports nothing else of the
library; the method registry names each method's class by its path and loads it only when a run
builds the method (``config.methods``)."""

from again_tf.config.methods import method_entry, method_names, register_method
from again_tf.config.overrides import apply_overrides, field_paths, load_config_file
from again_tf.config.presets import DEFAULT_PRESET, PRESETS, get_preset
from again_tf.config.schema import (
    BACKBONES,
    DATASETS,
    AgainConfig,
    AttackConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    RuntimeConfig,
    default_step_size,
    parse_method,
    with_method,
)

__all__ = [
    "BACKBONES", "DATASETS", "DEFAULT_PRESET", "PRESETS", "AgainConfig", "AttackConfig",
    "DataConfig", "EvalConfig", "ModelConfig", "ObjectiveConfig", "OptimConfig", "RunConfig",
    "RuntimeConfig", "apply_overrides", "default_step_size", "field_paths", "get_preset",
    "load_config_file", "method_entry", "method_names", "parse_method", "register_method",
    "with_method",
]
