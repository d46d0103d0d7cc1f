import pytest

from again_tf.errors import ConfigError
from again_tf.evaluation import DEFAULT_ATTACKS, EvalSettings, parse_attack, parse_attacks


def test_names_parse_to_kinds_steps_and_labels():
    specs = parse_attacks("clean,fgsm,pgd10,pgd100,cw,cw50,aa,aa_rand,transfer,transfer7")
    assert [(s.kind, s.steps) for s in specs] == [
        ("clean", 0), ("fgsm", 1), ("pgd", 10), ("pgd", 100), ("cw", 30), ("cw", 50), ("aa", 0), ("aa", 0),
        ("transfer", 50), ("transfer", 7)]
    assert [s.label for s in specs] == ["Clean", "FGSM", "PGD-10", "PGD-100", "C&W", "C&W", "AA",
                                        "AA (rand)", "Past masks", "Past masks"]
    assert [s.name for s in parse_attacks(DEFAULT_ATTACKS)] == list(DEFAULT_ATTACKS)


def test_duplicates_are_dropped_and_order_kept():
    assert [s.name for s in parse_attacks(" pgd20 , clean,pgd20")] == ["pgd20", "clean"]


@pytest.mark.parametrize("name,message", [
    ("pgd", "unknown attack 'pgd'; allowed: clean, fgsm"),
    ("deepfool", "pgdK, cwK or transferK"),
    ("pgd0", "pgd0 has 0 steps"),
    ("transfer0", "transfer0 has 0 steps"),
])
def test_bad_names_list_the_allowed_ones(name, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_attack(name)


def test_empty_list_is_an_error():
    with pytest.raises(ConfigError, match="empty list"):
        parse_attacks(" , ")


@pytest.mark.parametrize("kwargs,message", [
    ({"eps": 0.0}, r"eps: must be in \(0, 1\]"), ({"eps": 1.5}, r"eps: must be in \(0, 1\]"),
    ({"eps": 0.1, "norm": "l1"}, "allowed: linf, l2"),
    ({"eps": 0.1, "adaptive": "aux"}, "allowed: both, main"),
    ({"eps": 0.1, "restarts": 0}, "restarts: must be >= 1"),
])
def test_settings_are_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EvalSettings(**kwargs)


def test_default_step_is_a_quarter_of_eps():
    assert EvalSettings(eps=8 / 255).step == pytest.approx(2 / 255)
    assert EvalSettings(eps=0.1, step_size=0.01).step == 0.01
