import json
from pathlib import Path

import numpy as np
import pytest

from again_tf.config import (
    PRESETS,
    apply_overrides,
    default_step_size,
    get_preset,
    load_config_file,
    method_names,
    parse_method,
    with_method,
)
from again_tf.errors import ConfigError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_validates_and_round_trips_through_json(name, tmp_path):
    config = get_preset(name).validate()
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert load_config_file(path, get_preset("paper-resnet18")) == config


def test_paper_recipes_follow_the_spec():
    r18, wrn = get_preset("paper-resnet18"), get_preset("paper-wrn34")
    assert r18.method == "again_pgd_at" and r18.model.backbone == "resnet18"
    o = r18.optim
    assert (o.lr, o.momentum, o.weight_decay, o.epochs) == (0.1, 0.9, 5e-4, 200)
    assert r18.optim.lr_milestones == (100, 150) and r18.data.batch_size == 128
    assert abs(r18.attack.eps - 8 / 255) < 1e-12 and r18.attack.steps == 10
    assert (r18.again.alpha, r18.again.beta_aux) == (0.6, 2.0)
    assert wrn.method == "again_awp_pgd_at" and wrn.model.backbone == "wrn34_10"
    q = get_preset("quickstart")
    assert q.data.dataset == "fashion_mnist" and q.attack.eps == 0.1 and q.method == "again_pgd_at"


@pytest.mark.parametrize("method", method_names())
def test_every_method_name_parses_and_sets_the_config(method):
    base, awp, sites = parse_method(method)
    config = with_method(get_preset("paper-resnet18"), method).validate()
    assert config.objective.method == base and config.objective.awp == awp
    assert config.again.ase == bool(sites) and config.again.hff == (sites == "again")
    assert (config.again.alpha == 1.0) == (sites == "cas")
    assert config.method == (method + "_pgd_at" if method in ("awp", "again_awp", "cas") else method)


def test_cas_then_again_gets_agains_alpha_back_and_lbgat_stands_alone():
    config = with_method(with_method(get_preset("quickstart"), "cas"), "again_pgd_at")
    assert config.again.alpha == 0.6 and config.method == "again_pgd_at"
    with pytest.raises(ConfigError, match="lbgat does not combine with AGAIN, CAS or AWP"):
        apply_overrides(with_method(get_preset("quickstart"), "lbgat"), {"again.ase": "true"}).validate()


def test_overrides_convert_types():
    config = apply_overrides(get_preset("quickstart"), {
        "optim.lr": "0.05", "attack.eps": "8/255", "again.hff": "false", "model.widths": "8,16,32",
        "data.train_examples": "none", "optim.epochs": "3",
    })
    assert config.optim.lr == 0.05 and abs(config.attack.eps - 8 / 255) < 1e-12
    assert config.again.hff is False and config.model.widths == (8, 16, 32)
    assert config.data.train_examples is None and config.optim.epochs == 3


@pytest.mark.parametrize("overrides,field,allowed", [
    ({"data.dataset": "imagenet"}, "data.dataset", "cifar10"),
    ({"model.backbone": "vgg16"}, "model.backbone", "resnet18"),
    ({"attack.eps": "0"}, "attack.eps", "(0, 1]"),
    ({"attack.eps": "1.5"}, "attack.eps", "(0, 1]"),
    ({"attack.steps": "0"}, "attack.steps", ">= 1"),
    ({"attack.norm": "l1"}, "attack.norm", "linf"),
    ({"objective.method": "fgsm"}, "objective.method", "pgd_at"),
    ({"data.batch_size": "0"}, "data.batch_size", ">= 1"),
    ({"again.alpha": "2"}, "again.alpha", "[0, 1]"),
    ({"again.hff_style": "mix"}, "again.hff_style", "clean"),
])
def test_bad_values_name_the_field_and_the_allowed_values(overrides, field, allowed):
    with pytest.raises(ConfigError) as err:
        apply_overrides(get_preset("quickstart"), overrides).validate()
    assert field in str(err.value) and allowed in str(err.value)


def test_unknown_method_lists_the_methods():
    with pytest.raises(ConfigError, match="again_awp_trades"):
        with_method(get_preset("quickstart"), "again_lbgat")


def test_unknown_field_and_unreadable_value():
    with pytest.raises(ConfigError, match="optim.lr"):
        apply_overrides(get_preset("quickstart"), {"optim.learning_rate": "0.1"})
    with pytest.raises(ConfigError, match="cannot read 'fast' as int"):
        apply_overrides(get_preset("quickstart"), {"attack.steps": "fast"})
    with pytest.raises(ConfigError, match="allowed"):
        get_preset("paper-vit")


def test_bad_config_files(tmp_path):
    missing, broken = tmp_path / "none.json", tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(ConfigError, match="no file"):
        load_config_file(missing, get_preset("quickstart"))
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config_file(broken, get_preset("quickstart"))
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"optim": {"lr": 0.01}}))
    assert load_config_file(partial, get_preset("quickstart")).optim.lr == 0.01
    binary = tmp_path / "model.keras"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(ConfigError, match="is not text"):
        load_config_file(binary, get_preset("quickstart"))
    with pytest.raises(ConfigError, match="is a folder; give its config.json"):
        load_config_file(tmp_path, get_preset("quickstart"))


def test_a_committed_run_folder_of_the_old_format_keeps_its_validation():
    """Before data.val_source, ``holdout_examples: 0`` meant the first val_examples test images."""
    run = Path(__file__).parents[2] / "docs" / "results" / "quickstart" / "run" / "config.json"
    assert json.loads(run.read_text())["data"]["holdout_examples"] == 0
    config = load_config_file(run, get_preset("paper-resnet18")).validate()
    assert config.data.val_source == "test" and config.data.val_examples == 1000
    assert config.data.validates_on_test and config.data.dataset == "fashion_mnist"


def test_an_old_hold_out_becomes_a_held_out_split_drawn_with_the_runs_seed(tmp_path):
    old = tmp_path / "config.json"
    old.write_text(json.dumps({"seed": 3, "data": {"holdout_examples": 500, "val_examples": 1000}}))
    data = load_config_file(old, get_preset("quickstart")).validate().data
    assert (data.val_source, data.val_examples, data.split_seed) == ("holdout", 500, 3)
    assert get_preset("quickstart").data.val_source == "holdout" and not data.validates_on_test


def test_a_run_folder_from_before_the_hold_out_option_validated_on_test_images(tmp_path):
    """Older still: no holdout_examples, no val_source; its validation was the test split's."""
    old = tmp_path / "config.json"
    data = {k: v for k, v in json.loads(get_preset("quickstart").to_json())["data"].items()
            if k not in ("val_source", "split_seed")}
    old.write_text(json.dumps({"data": data}))
    assert load_config_file(old, get_preset("quickstart")).data.val_source == "test"
    partial = tmp_path / "partial.json"  # a user's partial file keeps the default
    partial.write_text(json.dumps({"data": {"val_examples": 500}}))
    assert load_config_file(partial, get_preset("quickstart")).data.val_source == "holdout"


def test_the_whole_test_split_as_validation_needs_the_explicit_option():
    with pytest.raises(ConfigError, match="data.val_examples: null .* needs data.val_source=test"):
        apply_overrides(get_preset("quickstart"), {"data.val_examples": "none"}).validate()
    with pytest.raises(ConfigError, match="data.val_source: got 'train'; allowed: holdout, test"):
        apply_overrides(get_preset("quickstart"), {"data.val_source": "train"}).validate()


def test_the_baselines_presets_carry_their_originals_settings():
    fat, fat_trades = get_preset("paper-fat"), get_preset("paper-fat-trades")
    cas, lbgat = get_preset("paper-cas"), get_preset("paper-lbgat")
    assert (fat.method, fat.objective.fat_tau_milestones, fat.objective.fat_omega) == ("fat", (50, 90), 0.001)
    assert (fat.attack.eps, fat.attack.step_size, fat.optim.epochs) == (0.031, 0.007, 120)
    assert (fat_trades.method, fat_trades.objective.fat_tau_milestones) == ("fat_trades", (30, 50, 70))
    assert (cas.method, cas.again.alpha, cas.again.beta_aux, cas.optim.weight_decay) == \
        ("cas_pgd_at", 1.0, 2.0, 1e-4)
    assert (lbgat.method, lbgat.objective.lbgat_beta, lbgat.optim.lr_milestones) == ("lbgat", 0.0, (75, 90))
    assert all(c.model.backbone == "resnet18" for c in (fat, fat_trades, cas, lbgat))
    las_at = get_preset("paper-las-at").objective
    assert np.allclose(np.array(las_at.las_eps_scales) * 8, range(3, 16))
    assert las_at.las_iterations == tuple(range(3, 15)) and las_at.las_reward_weights == (1.0, 4.0, 2.0)


def test_the_evaluation_step_is_the_given_one_else_a_quarter_of_eps():
    assert default_step_size(8 / 255) == pytest.approx(2 / 255)
    assert default_step_size(0.1, given=0.01) == 0.01
