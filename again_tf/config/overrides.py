"""Dotted overrides (``optim.lr=0.05``) and JSON config files onto the frozen dataclasses."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path

from again_tf.config.migrations import migrate
from again_tf.config.schema import RunConfig
from again_tf.errors import ConfigError


def _fields(cls) -> dict[str, typing.Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def field_paths(cls=RunConfig, prefix: str = "") -> dict[str, typing.Any]:
    """Every leaf field as ``section.field`` -> its type annotation."""
    paths = {}
    for name, tp in _fields(cls).items():
        if _is_dataclass_type(tp):
            paths.update(field_paths(tp, f"{prefix}{name}."))
        else:
            paths[prefix + name] = tp
    return paths


def convert(value, tp, key: str):
    """Converts a CLI string (or a JSON value) to the field's type; raises ConfigError."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return convert(value, inner[0], key)
    if origin is tuple:
        items = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(",") if v]
        return tuple(convert(v, args[0], key) for v in items)
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            lowered = str(value).lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return lowered in ("true", "1", "yes")
        if tp is float:
            return _finite(value, key)
        return tp(value)
    except ConfigError:
        raise
    except (TypeError, ValueError):
        raise ConfigError(
            f"{key}: cannot read {value!r} as {getattr(tp, '__name__', tp)}; "
            f"give e.g. {key}={_example(tp)}."
        ) from None


def _finite(value, key: str) -> float:
    """A float from ``0.1``, ``8/255`` or a JSON number; inf, NaN and a zero denominator are errors
    here, before they become a NaN loss hours into training."""
    if isinstance(value, str) and "/" in value:
        num, den = (float(part) for part in value.split("/"))
        if den == 0:
            raise ConfigError(f"{key}: {value!r} divides by zero; give e.g. {key}=8/255.")
        number = num / den
    else:
        number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{key}: got {value!r}; give a finite number, e.g. {key}={_example(float)}.")
    return number


def _example(tp) -> str:
    return {bool: "true", int: "10", float: "0.1 or 8/255", str: "name"}.get(tp, "value")


def apply_overrides(config: RunConfig, overrides: dict[str, typing.Any]) -> RunConfig:
    """Returns a new config with ``{"section.field": value}`` applied (values converted)."""
    paths = field_paths()
    for key, raw in overrides.items():
        if key not in paths:
            close = [p for p in paths if p.split(".")[-1] == key.split(".")[-1]]
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"Unknown config field {key!r}.{hint} Fields: {', '.join(sorted(paths))}."
            )
        config = _replace_path(config, key.split("."), convert(raw, paths[key], key))
    return config


def _replace_path(obj, parts: list[str], value):
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: value})
    child = getattr(obj, parts[0])
    return dataclasses.replace(obj, **{parts[0]: _replace_path(child, parts[1:], value)})


def flatten(data: dict, prefix: str = "") -> dict[str, typing.Any]:
    """``{"optim": {"lr": 0.1}}`` -> ``{"optim.lr": 0.1}``."""
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def load_config_file(path: str | Path, base: RunConfig) -> RunConfig:
    """Applies a JSON file (a full resolved config or a partial one, of this version or an earlier
    one: ``config.migrations``) on top of ``base``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--config: no file at {path}; give the path of a JSON config.") from None
    except IsADirectoryError:
        raise ConfigError(f"--config: {path} is a folder; give its config.json.") from None
    except OSError as err:
        raise ConfigError(f"--config: cannot read {path} ({err.strerror}); give a readable JSON file."
                          ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"--config: {path} is not text; give a JSON config (e.g. a run's config.json)."
                          ) from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"--config: {path} is not valid JSON ({err}).") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config: {path} must hold a JSON object of config sections.")
    return apply_overrides(base, flatten(migrate(data)))
