import numpy as np
import pytest

from again_tf.evaluation import EvalRecord, EvaluationError

HEADER = {"model": "m", "n": 4, "attacks": ["clean"], "settings": {"eps": 0.1}}


def test_resume_keeps_finished_batches_and_refuses_other_settings(tmp_path):
    path = tmp_path / "record.jsonl"
    record = EvalRecord(path, HEADER)
    record.add(0, np.arange(2), np.array([3, 4]), {"clean": np.array([1, 0], np.int8)})
    resumed = EvalRecord(path, HEADER, resume=True)
    assert resumed.done(0) and not resumed.done(1)
    resumed.add(1, np.arange(2, 4), np.array([5, 6]), {"clean": np.array([1, 1], np.int8)})
    columns = EvalRecord(path, HEADER, resume=True).columns()
    np.testing.assert_array_equal(columns["clean"], [1, 0, 1, 1])
    np.testing.assert_array_equal(columns["index"], [0, 1, 2, 3])
    with pytest.raises(EvaluationError, match="written with other settings"):
        EvalRecord(path, {**HEADER, "attacks": ["clean", "pgd20"]}, resume=True)
    with pytest.raises(EvaluationError, match="written with other settings"):
        EvalRecord(path, {**HEADER, "n": 3}, resume=True)  # fewer examples: not a prefix record


def test_a_larger_n_keeps_the_full_batches_of_the_smaller_evaluation(tmp_path):
    path, header = tmp_path / "record.jsonl", {**HEADER, "n": 3, "settings": {"batch_size": 2}}
    record = EvalRecord(path, header)
    record.add(0, np.arange(2), np.array([3, 4]), {"clean": np.array([1, 0], np.int8)})
    record.add(1, np.arange(2, 3), np.array([5]), {"clean": np.array([1], np.int8)})  # partial batch
    grown = EvalRecord(path, {**header, "n": 6}, resume=True)
    assert grown.done(0) and not grown.done(1)
    assert EvalRecord(path, {**header, "n": 6}, resume=True).done(0)  # the header now says n = 6


def test_an_existing_record_is_not_overwritten_by_accident(tmp_path):
    path = tmp_path / "record.jsonl"
    EvalRecord(path, HEADER).add(0, np.arange(1), np.array([1]), {"clean": np.array([1])})
    with pytest.raises(EvaluationError, match="pass --resume to continue it or --overwrite"):
        EvalRecord(path, HEADER)
    assert EvalRecord(path, HEADER, overwrite=True).columns() == {}


def test_a_last_line_cut_short_is_dropped_and_other_damage_is_a_clear_error(tmp_path):
    path = tmp_path / "record.jsonl"
    record = EvalRecord(path, HEADER)
    record.add(0, np.arange(2), np.array([3, 4]), {"clean": np.array([1, 0], np.int8)})
    with path.open("a") as f:
        f.write('{"batch": 1, "index": [2, ')  # killed while writing batch 1
    resumed = EvalRecord(path, HEADER, resume=True)
    assert resumed.done(0) and not resumed.done(1)
    resumed.add(1, np.arange(2, 4), np.array([5, 6]), {"clean": np.array([1, 1], np.int8)})
    np.testing.assert_array_equal(EvalRecord(path, HEADER, resume=True).columns()["clean"], [1, 0, 1, 1])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    with pytest.raises(EvaluationError, match="line 2 is not JSON; the record is damaged"):
        EvalRecord(path, HEADER, resume=True)
