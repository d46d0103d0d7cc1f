"""The model that owns the method's networks and the adversarial train step, and its builder."""

from again_tf.engine.builder import build_model, compile_model, eval_attack_settings, soft_surrogates
from again_tf.engine.model import AgainModel, AttackSettings

__all__ = ["AgainModel", "AttackSettings", "build_model", "compile_model", "eval_attack_settings",
           "soft_surrogates"]
