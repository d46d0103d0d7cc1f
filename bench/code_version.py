"""The code version a grid cell's numbers come from, and the rule that a grid has only one.

A cell records ``code_version()``: the commit, plus a hash of any uncommitted change to the code
its numbers depend on. A results folder refuses cells of another version: run the grid from a
worktree of the recorded commit (``git worktree add ../grid COMMIT``) while the main checkout
moves on.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from again_tf.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CODE = ("again_tf", "training", "serving", "bench")  # what a cell's numbers depend on


def code_version(repo: Path = REPO) -> str:
    """``<commit>``, or ``<commit>+<hash of the uncommitted diff>`` when the code has changes."""
    def git(*args):
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        if done.returncode:
            raise ConfigError(f"{repo}: git {args[0]} failed ({done.stderr.strip()}); a grid records the "
                              "commit its numbers come from: run it from a git checkout.")
        return done.stdout

    commit = git("rev-parse", "HEAD").strip()
    diff = git("diff", "HEAD", "--", *CODE) + git("ls-files", "--others", "--exclude-standard", "--", *CODE)
    return commit if not diff else f"{commit}+{hashlib.sha256(diff.encode()).hexdigest()[:12]}"


def check_one_version(summaries: list[dict], version: str) -> None:
    """Finished cells must come from this code version (cells from before versions were recorded
    carry none and are not checked)."""
    others = sorted({s["code_version"] for s in summaries if s.get("code_version")} - {version})
    if others:
        raise ConfigError(f"finished cells come from code version {', '.join(others)}, this checkout is "
                          f"{version}: a grid's numbers come from one version. Run it from a worktree of "
                          f"that commit (git worktree add ../grid {others[0].split('+')[0]}), or use a new "
                          "--results-dir.")
