"""The run folder's policy: unnamed runs never reuse a folder, a resume may change only how the
run executes, every worker of a cluster needs the chief's --name."""

import dataclasses
import json

import pytest

from again_tf.config import get_preset, with_method
from again_tf.errors import ConfigError
from again_tf.run import folder
from again_tf.run.folder import changed_settings, chief_dir, make_run_dir


def test_a_resume_may_change_the_runtime_and_verbosity_but_nothing_else():
    saved = {"seed": 0, "verbose": 1, "optim": {"lr": 0.1, "epochs": 3}, "runtime": {"strategy": "default"}}
    wanted = {"seed": 1, "verbose": 0, "optim": {"lr": 0.05, "epochs": 3}, "runtime": {"strategy": "auto"}}
    assert changed_settings(saved, wanted) == ["optim.lr", "seed"]
    assert changed_settings(saved, {**saved, "verbose": 2, "runtime": {"strategy": "auto"}}) == []


def test_unnamed_runs_get_a_new_folder_each_and_write_their_config(tmp_path, monkeypatch):
    monkeypatch.setattr(folder.time, "strftime", lambda _: "20250101-000000")  # both in one second
    config = dataclasses.replace(get_preset("quickstart"), output_dir=str(tmp_path), name=None)
    first, second = make_run_dir(config), make_run_dir(config)
    assert (first.name, second.name) == ("quickstart-again_pgd_at-20250101-000000",
                                         "quickstart-again_pgd_at-20250101-000000-1")
    assert (second / "config.json").read_text() == config.to_json() + "\n"
    assert (second / "checkpoints").is_dir()


def test_multi_worker_runs_need_a_name_and_share_the_chiefs_folder(tmp_path):
    config = dataclasses.replace(get_preset("quickstart"), output_dir=str(tmp_path), name=None)
    with pytest.raises(ConfigError, match="pass --name, the same on every worker"):
        chief_dir(config)
    assert chief_dir(dataclasses.replace(config, name="r")) == tmp_path / "r"


def _named(tmp_path, name="r", **changes):
    return dataclasses.replace(get_preset("quickstart"), output_dir=str(tmp_path), name=name, **changes)


def test_a_named_folder_of_another_run_is_never_overwritten(tmp_path):
    """A folder with another method's config.json, metrics.csv and last.keras but no training
    state (the case that once exited 0 after replacing all three) is refused, byte for byte kept."""
    other = with_method(_named(tmp_path), "trades")
    run = make_run_dir(other)
    (run / "metrics.csv").write_text("epoch,loss\n0,1.0\n")
    (run / "checkpoints" / "last.keras").write_bytes(b"weights")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match=r"with other settings \(again\.ase"):
        make_run_dir(_named(tmp_path))
    with pytest.raises(ConfigError, match="holds metrics.csv, last.keras but no training state"):
        make_run_dir(other)  # its own settings, but nothing to resume: still not replaced
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_run_stopped_before_its_first_results_starts_again_and_old_folders_compare_migrated(tmp_path):
    config = _named(tmp_path)
    run = make_run_dir(config)  # config.json only: it stopped before any epoch ended
    assert make_run_dir(config) == run
    old = json.loads(config.to_json())  # the same run as written before data.val_source existed
    data = old["data"]
    data.pop("val_source"), data.pop("split_seed")
    old["data"] = {**data, "holdout_examples": 1000}
    (run / "config.json").write_text(json.dumps(old))
    assert make_run_dir(config) == run
    (run / "config.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="with other settings"):
        make_run_dir(config)
