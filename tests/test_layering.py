"""Data flows one way: a lower stage never imports a higher one.

Inside the library the stages run data -> model -> attack -> objective -> method -> train step ->
evaluation and callbacks -> run; above it, the CLIs (``training``) and serving depend on the
library only, and ``bench`` may use everything.
"""

import ast
from pathlib import Path

import pytest

LIBRARY_STAGES = ("errors", "randomness", "tf_startup", "config", "data", "layers", "models", "attacks",
                  "objectives", "methods", "engine", "evaluation", "analysis", "callbacks", "run")
TOP_LEVELS = {"again_tf": 0, "training": 1, "serving": 1, "bench": 2}
ROOT = Path(__file__).resolve().parents[1]


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "again_tf":  # its submodules
            found.update(f"again_tf.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _stage(module: str) -> str | None:
    """``again_tf.attacks.pgd`` -> ``attacks``; ``training.train`` -> ``training``; else None."""
    parts = module.split(".")
    if parts[0] == "again_tf" and len(parts) > 1:
        return parts[1]
    return parts[0] if parts[0] in TOP_LEVELS else None


def _library_violations(path: Path) -> list[str]:
    own = path.relative_to(ROOT / "again_tf").parts[0].removesuffix(".py")
    rank = LIBRARY_STAGES.index(own)
    return [f"{path.relative_to(ROOT)} ({own}) imports {module}"
            for module in sorted(_imported(path)) if (stage := _stage(module)) is not None
            and (TOP_LEVELS.get(stage, 0) > 0 or LIBRARY_STAGES.index(stage) > rank)]


def _top_level_violations(path: Path, top: str) -> list[str]:
    return [f"{path.relative_to(ROOT)} imports {module}" for module in sorted(_imported(path))
            if (stage := _stage(module)) in TOP_LEVELS and stage not in ("again_tf", top)
            and TOP_LEVELS[stage] >= TOP_LEVELS[top]]


def test_every_library_package_has_a_stage():
    packages = {p.name.removesuffix(".py") for p in (ROOT / "again_tf").iterdir()
                if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").is_file())}
    assert packages == set(LIBRARY_STAGES), "add the new package to LIBRARY_STAGES in its place"


def test_no_library_stage_imports_a_later_one():
    paths = sorted(set((ROOT / "again_tf").rglob("*.py")) - {ROOT / "again_tf" / "__init__.py"})
    violations = [v for path in paths for v in _library_violations(path)]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("top", ["training", "serving", "bench"])
def test_clis_and_serving_use_the_library_not_each_other(top):
    violations = [v for path in sorted((ROOT / top).rglob("*.py")) for v in _top_level_violations(path, top)]
    assert not violations, "\n".join(violations)
