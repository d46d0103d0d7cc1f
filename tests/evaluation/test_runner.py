"""The runner on a small AGAIN model trained on real Fashion-MNIST."""

import json

import numpy as np
import pytest

from again_tf.evaluation import EvalRecord, EvalSettings, keras_target, parse_attacks, run_attacks

pytestmark = pytest.mark.slow  # the shared trained model

SPECS = parse_attacks("clean,fgsm,pgd3,cw3")
SETTINGS = EvalSettings(eps=0.1, batch_size=32, seed=3)


@pytest.fixture(scope="module")
def trained(trained_again):
    """The shared trained model (tests/conftest.py) and its first 64 test images."""
    target = keras_target(trained_again.model, (28, 28, 1), beta_aux=2.0)
    return target, trained_again.x[:64], trained_again.y[:64]


def _run(target, xt, yt, path, **kwargs):
    header = {"n": len(xt), "attacks": [s.name for s in SPECS]}
    return run_attacks(target, xt, yt, SPECS, SETTINGS, EvalRecord(path, header, **kwargs), progress=None)


def test_worst_case_is_never_above_the_main_head_attack(trained, tmp_path):
    target, xt, yt = trained
    columns = _run(target, xt, yt, tmp_path / "r.jsonl")
    assert target.has_aux()
    for name in ("fgsm", "pgd3", "cw3"):
        assert np.all(columns[name] <= columns[f"{name}:main"]), name
        assert np.all(columns[name] <= columns["clean"]), name
    np.testing.assert_array_equal(columns["check:eps0"], columns["clean"])
    assert columns["check:eps_large"].mean() < columns["pgd3"].mean()
    np.testing.assert_array_equal(columns["label"], yt)


def test_resume_recomputes_nothing_and_gives_the_same_columns(trained, tmp_path):
    target, xt, yt = trained
    path = tmp_path / "r.jsonl"
    full = _run(target, xt, yt, path)
    lines = path.read_text().splitlines()
    assert [json.loads(line).get("batch") for line in lines] == [None, 0, 1]
    path.write_text("\n".join(lines[:2]) + "\n")  # interrupted after the first batch
    resumed = _run(target, xt, yt, path, resume=True)
    for key, value in full.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)


def test_autoattack_column_is_the_worst_case_and_names_who_broke_each_example(trained, tmp_path):
    target, xt, yt = trained
    specs = parse_attacks("clean,pgd10,aa")
    header = {"n": 32, "attacks": [s.name for s in specs]}
    settings = EvalSettings(eps=0.1, batch_size=32, seed=3)
    columns = run_attacks(target, xt[:32], yt[:32], specs, settings, EvalRecord(tmp_path / "r.jsonl", header),
                          progress=None)
    assert np.all(columns["aa"] <= columns["aa:main"]) and np.all(columns["aa:main"] <= columns["clean"])
    broken_by = columns["aa:broken_by"]
    np.testing.assert_array_equal(broken_by == "", columns["aa"] == 1)
    np.testing.assert_array_equal(broken_by == "clean", columns["clean"] == 0)
    assert set(broken_by) <= {"", "clean", "apgd-ce", "apgd-t", "fab-t", "square", "apgd-ce-aux"}
    assert columns["aa"].mean() < columns["clean"].mean()
