"""The registry of training methods: the names ``objective.method`` and ``--method`` accept, and
where each method's class lives (imported only when a run builds it, so the config stays light).

A method from outside the package registers itself with one call, e.g.
``register_method("toy", ToyMethod)``, before the config is validated.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from again_tf.errors import ConfigError

# --method: a base method, optionally wrapped by AWP and/or AGAIN (or CAS: ASE with alpha = 1 and
# no HFF); "awp" alone is AWP over PGD-AT, "cas" CAS over PGD-AT, "again_awp" AGAIN-AWP-PGD-AT.
PREFIXES = ("", "again_", "awp_", "again_awp_", "cas_")
SHORT_NAMES = ("awp", "again_awp", "cas")


@dataclass(frozen=True)
class MethodEntry:
    name: str
    target: str | type  # "package.module:Class", or the class itself
    standalone: bool = False  # brings a network of its own: no AGAIN, AWP or CAS on top

    def load(self) -> type:
        if not isinstance(self.target, str):
            return self.target
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


_REGISTRY: dict[str, MethodEntry] = {}


def register_method(name: str, target: str | type, *, standalone: bool = False) -> None:
    """Makes ``name`` a valid ``objective.method`` (and, unless ``standalone``, ``again_<name>``,
    ``awp_<name>`` ... as --method names). Registering a name again replaces its entry."""
    if not name.isidentifier() or name.startswith(("again", "awp", "cas")):
        raise ConfigError(f"method name {name!r}: use a Python identifier that does not start with "
                          f"again, awp or cas (those prefixes wrap a method).")
    _REGISTRY[name] = MethodEntry(name, target, standalone)


def method_entry(name: str) -> MethodEntry:
    if name not in _REGISTRY:
        raise ConfigError(f"objective.method: got {name!r}; allowed: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def base_methods() -> tuple[str, ...]:
    """The methods AGAIN, AWP and CAS can wrap."""
    return tuple(n for n, e in _REGISTRY.items() if not e.standalone)


def standalone_methods() -> tuple[str, ...]:
    return tuple(n for n, e in _REGISTRY.items() if e.standalone)


def method_names() -> tuple[str, ...]:
    """Every --method name: each base method with each wrapper prefix, the short names, the
    standalone methods."""
    return tuple(p + m for p in PREFIXES for m in base_methods()) + SHORT_NAMES + standalone_methods()


for _name, _target in (("pgd_at", "again_tf.methods.pgd_at:PGDAT"),
                       ("trades", "again_tf.methods.trades:TRADES"),
                       ("mart", "again_tf.methods.mart:MART"),
                       ("fat", "again_tf.methods.fat:FAT"),
                       ("fat_trades", "again_tf.methods.fat:FATTRADES")):
    register_method(_name, _target)
register_method("lbgat", "again_tf.methods.lbgat:LBGAT", standalone=True)
register_method("las_at", "again_tf.methods.las_at:LASAT", standalone=True)
