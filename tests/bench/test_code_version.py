"""The code version a cell records, and the one-version rule of a results folder."""

import subprocess
from pathlib import Path

import pytest

from again_tf.errors import ConfigError
from bench.code_version import check_one_version, code_version


def test_the_code_version_is_the_commit_plus_a_hash_of_uncommitted_code(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "again_tf").mkdir()
    (tmp_path / "again_tf" / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.md").write_text("not code\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one")
    commit = code_version(tmp_path)
    assert len(commit) == 40 and "+" not in commit
    (tmp_path / "notes.md").write_text("changed, still not code\n")
    assert code_version(tmp_path) == commit
    (tmp_path / "again_tf" / "a.py").write_text("x = 2\n")
    dirty = code_version(tmp_path)
    assert dirty.startswith(commit + "+") and code_version(tmp_path) == dirty
    with pytest.raises(ConfigError, match="git rev-parse failed"):
        code_version(Path("/"))


def test_cells_of_another_code_version_are_refused():
    check_one_version([{"code_version": "abc"}, {}], "abc")  # a cell from before versions: not checked
    with pytest.raises(ConfigError, match="come from code version abc\\+123, this checkout is def.*"
                                          "git worktree add ../grid abc"):
        check_one_version([{"code_version": "abc+123"}], "def")
