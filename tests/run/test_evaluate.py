"""The evaluation table's row names and default columns."""

import pytest
import tensorflow as tf

from again_tf.evaluation import EvalTarget
from again_tf.models.outputs import ModelOutputs
from again_tf.run.evaluate import default_attacks, method_label


def test_method_labels_follow_the_seed():
    assert method_label("again_awp_pgd_at") == "AGAIN-AWP-PGD-AT"
    assert method_label("trades") == "TRADES" and method_label("again_mart") == "AGAIN-MART"
    assert method_label("cas_trades") == "CAS-TRADES" and method_label("las_at") == "LAS-AT"


@pytest.mark.parametrize("heads, adaptive, past_masks", [(0, "both", False), (2, "both", True),
                                                         (2, "main", False)])
def test_a_model_with_ase_heads_is_attacked_past_its_masks_by_default(heads, adaptive, past_masks):
    logits = lambda x: tf.reshape(x, (-1, 10))
    outputs = lambda x: ModelOutputs(logits(x), (logits(x),) * heads) if heads else logits(x)
    names = default_attacks(EvalTarget(outputs, (10, 1, 1), 10), adaptive).split(",")
    assert names[:7] == ["clean", "pgd10", "pgd20", "pgd50", "pgd100", "cw", "aa"]
    assert names[7:] == (["transfer"] if past_masks else [])
