"""The transfer attacks' worst case joins only evaluation records of the same model and eps."""

import numpy as np

from again_tf.evaluation import EvalRecord
from again_tf.run.transfer import with_evaluations


def _record(run, name, model="sha256:m", eps=0.1, n=4, pgd=(1, 1, 0, 1)):
    header = {"model": model, "n": n, "attacks": ["clean", "pgd20"], "settings": {"eps": eps}}
    record = EvalRecord(run / "eval" / name / "record.jsonl", header)
    record.add(0, np.arange(n), np.zeros(n, int), {"clean": np.ones(n, np.int8),
                                                   "pgd20": np.array(pgd[:n], np.int8)})


def test_only_records_of_the_same_model_and_eps_join_on_the_images_both_cover(tmp_path):
    _record(tmp_path, "same")
    _record(tmp_path, "retrained", model="sha256:other")
    _record(tmp_path, "eps005", eps=0.05)
    _record(tmp_path, "fewer", n=2)
    found = with_evaluations(tmp_path, "sha256:m", 0.1, np.array([1, 0, 1, 1], np.int8))
    assert sorted(found) == ["fewer", "same"]
    assert found["same"] == {"attacks": ["pgd20"], "examples": 4, "table_worst": 0.75, "with_transfer": 0.5}
    assert found["fewer"] == {"attacks": ["pgd20"], "examples": 2, "table_worst": 1.0, "with_transfer": 0.5}
