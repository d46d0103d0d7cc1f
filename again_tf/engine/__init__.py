"""The model that owns the head and the adversarial train step, and its builder."""

from again_tf.engine.builder import build_model, compile_model, eval_attack_settings
from again_tf.engine.model import AgainModel, AttackSettings, AWPSettings

__all__ = [
    "AWPSettings", "AgainModel", "AttackSettings", "build_model", "compile_model",
    "eval_attack_settings",
]
