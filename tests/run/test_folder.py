"""The run folder's policy: unnamed runs never reuse a folder, a resume may change only how the
run executes, every worker of a cluster needs the chief's --name."""

import dataclasses

import pytest

from again_tf.config import get_preset
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
