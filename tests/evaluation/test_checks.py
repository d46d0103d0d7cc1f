import numpy as np
import pytest

from again_tf.evaluation import parse_attacks, run_checks
from again_tf.evaluation.checks import transfer_check

SPECS = parse_attacks("clean,pgd10,pgd20,pgd100,cw,aa")
GOOD = {"clean": 0.8, "pgd10": 0.62, "pgd20": 0.6, "pgd100": 0.598, "cw": 0.605, "aa": 0.55,
        "pgd20:main": 0.605, "check:eps0": 0.8, "check:eps_large": 0.0}


def _status(acc, columns=None):
    return {c.name: c.passed for c in run_checks(columns or {}, acc, SPECS)}


def test_a_consistent_table_passes_every_check():
    columns = {"aa:broken_by": np.array(["apgd-ce"] * 300 + ["square"] * 1 + [""] * 699)}
    status = _status(GOOD, columns)
    assert len(status) == 7 and all(status.values()), status


def test_each_inversion_warns():
    bad = {**GOOD, "pgd100": 0.62, "aa": 0.61, "cw": 0.62, "check:eps0": 0.79, "check:eps_large": 0.2,
           "pgd20:main": 0.7}
    columns = {"aa:broken_by": np.array(["square"] * 10 + [""] * 990)}
    status = _status(bad, columns)
    assert not any(status.values()), status


def test_a_gap_of_exactly_the_allowance_passes_and_one_image_more_warns():
    at = {**GOOD, "pgd20:main": 0.743, "pgd20": 0.733, "pgd100": 0.7, "pgd10": 0.74, "cw": 0.743}
    assert 0.743 - 0.733 > 0.01  # what floating point makes of 10 images in 1000
    status = _status(at, {"aa:broken_by": np.array(["square"] * 5 + [""] * 995)})
    assert all(status.values()), status
    over = {**at, "pgd20:main": 0.744, "cw": 0.744}
    status = _status(over, {"aa:broken_by": np.array(["square"] * 6 + [""] * 994)})
    assert not status["main-head attack agrees with the adaptive attack"]
    assert not status["C&W <= PGD-20 + 1 point"]
    assert not status["black-box Square is not stronger than white-box APGD/FAB"]


def test_warn_lines_name_a_cause():
    checks = run_checks({}, {**GOOD, "cw": 0.7}, SPECS)
    line = next(c.line() for c in checks if not c.passed)
    assert line.startswith("WARN  C&W <= PGD-20 + 1 point: cw 70.00%, pgd20 60.00% - ")


def test_the_square_check_counts_what_the_white_box_attacks_left_and_skips_rand():
    broken = np.array(["apgd-ce"] * 300 + ["square"] * 6 + ["apgd-ce-aux"] * 4 + [""] * 190)
    check = next(c for c in run_checks({"aa:broken_by": broken}, GOOD, SPECS) if "Square" in c.name)
    expected = "Square broke 6 of the 200 examples the white-box attacks left: 1.20% of all examples"
    assert check.detail == expected
    assert not check.passed
    rand = parse_attacks("clean,pgd10,aa_rand")
    names = [c.name for c in run_checks({"aa_rand:broken_by": broken}, {**GOOD, "aa_rand": 0.5}, rand)]
    assert not any("Square" in n for n in names)


@pytest.mark.parametrize("drop, passed", [(0.01, True), (0.011, False)])
def test_the_transfer_check_allows_a_point(drop, passed):
    found = {"attacks": ["aa"], "examples": 1000, "table_worst": 0.546, "with_transfer": 0.546 - drop}
    assert transfer_check("eval/aa", found).passed is passed


@pytest.mark.parametrize("broken, passed", [(10, True), (11, False)])
def test_the_past_masks_column_warns_when_it_lowers_the_worst_case_by_more_than_a_point(broken, passed):
    specs = parse_attacks("clean,pgd20,aa,transfer")
    ones = np.ones(1000, np.int8)
    pgd20, aa = ones.copy(), ones.copy()
    pgd20[:300], aa[200:400] = 0, 0  # worst of the two: 600 of 1000 survive
    past = ones.copy()
    past[:400 + broken] = 0  # breaks all that the two broke, and `broken` images more
    columns = {"clean": ones, "pgd20": pgd20, "aa": aa, "transfer": past}
    check = next(c for c in run_checks(columns, {}, specs) if c.name.startswith("transfer attacks"))
    assert check.name == "transfer attacks agree with the worst of pgd20, aa"
    assert check.passed is passed
    assert f"with the transfer attacks {100 * (0.6 - broken / 1000):.2f}%" in check.detail
