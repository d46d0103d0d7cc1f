import numpy as np
import pytest

from again_tf.evaluation import EvalRecord, EvaluationError, model_fingerprint, read_record

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


def test_the_fingerprint_follows_the_bytes_not_the_path(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "variables").mkdir()
    (tmp_path / "a" / "saved_model.pb").write_bytes(b"graph")
    (tmp_path / "a" / "variables" / "v.data").write_bytes(b"weights")
    first = model_fingerprint(tmp_path / "a")
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    (tmp_path / "a").rename(tmp_path / "b")
    assert model_fingerprint(tmp_path / "b") == first  # moved: the same model
    (tmp_path / "b" / "variables" / "v.data").write_bytes(b"weightz")
    assert model_fingerprint(tmp_path / "b") != first  # retrained: another model
    (tmp_path / "m.keras").write_bytes(b"zip")
    assert model_fingerprint(tmp_path / "m.keras") != model_fingerprint(tmp_path / "b")
    (tmp_path / "copy.keras").write_bytes(b"zip")
    assert model_fingerprint(tmp_path / "copy.keras") == model_fingerprint(tmp_path / "m.keras")


def test_a_record_of_another_model_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "record.jsonl"
    EvalRecord(path, HEADER).add(0, np.arange(1), np.array([1]), {"clean": np.array([1])})
    with pytest.raises(EvaluationError, match=r"another model \(m, this one is m2\).*--overwrite"):
        EvalRecord(path, {**HEADER, "model": "m2"}, resume=True)
    assert EvalRecord(path, HEADER, resume=True).done(0)  # refused, and nothing was lost


def test_read_record_gives_header_and_columns_in_batch_order_and_changes_nothing(tmp_path):
    path = tmp_path / "record.jsonl"
    record = EvalRecord(path, HEADER)
    record.add(1, np.arange(2, 4), np.array([5, 6]), {"clean": np.array([0, 1], np.int8)})
    record.add(0, np.arange(2), np.array([3, 4]), {"clean": np.array([1, 0], np.int8)})
    path.write_text(path.read_text() + '{"batch": 2, "ind')  # killed while writing batch 2
    before = path.read_text()
    header, columns = read_record(path)
    assert header == HEADER and path.read_text() == before
    np.testing.assert_array_equal(columns["index"], [0, 1, 2, 3])
    np.testing.assert_array_equal(columns["clean"], [1, 0, 0, 1])
    path.write_text('{"batch": 0}\n')
    with pytest.raises(EvaluationError, match="no record header"):
        read_record(path)
