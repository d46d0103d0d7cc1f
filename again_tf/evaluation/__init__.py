"""Robustness evaluation shared by the CLI, the training loop and the tests: attack specs, the
adaptive (through the ASE heads) and main-head columns, the per-example record, checks and the report."""

from again_tf.evaluation.attack_specs import (
    DEFAULT_ATTACKS,
    PAST_MASKS,
    AttackSpec,
    EvalSettings,
    parse_attack,
    parse_attacks,
)
from again_tf.evaluation.checks import Check, run_checks
from again_tf.evaluation.record import EvalRecord, model_fingerprint, read_record
from again_tf.evaluation.report import accuracies, markdown_table, with_worst_case, write_outputs
from again_tf.evaluation.runner import gradient_columns, run_attacks
from again_tf.evaluation.target import (
    EvalTarget,
    EvaluationError,
    keras_target,
    saved_model_target,
)

__all__ = [
    "DEFAULT_ATTACKS", "PAST_MASKS", "AttackSpec", "Check", "EvalRecord", "EvalSettings", "EvalTarget",
    "EvaluationError", "accuracies", "gradient_columns", "keras_target",
    "markdown_table", "model_fingerprint", "parse_attack", "parse_attacks", "read_record", "run_attacks",
    "run_checks", "saved_model_target", "with_worst_case", "write_outputs",
]
