"""Argument parsing shared by the CLIs: preset, JSON file, shortcut flags, dotted field flags."""

from __future__ import annotations

import argparse
import typing

from again_tf.config import (
    DEFAULT_PRESET,
    PRESETS,
    RunConfig,
    apply_overrides,
    field_paths,
    get_preset,
    load_config_file,
    method_names,
    with_method,
)

# Shortcut flag -> config field (the dotted flags reach every field as well).
SHORTCUTS = {
    "--epochs": "optim.epochs",
    "--lr": "optim.lr",
    "--eps": "attack.eps",
    "--batch-size": "data.batch_size",
    "--dataset": "data.dataset",
    "--data-dir": "data.data_dir",
    "--backbone": "model.backbone",
    "--seed": "seed",
    "--output-dir": "output_dir",
    "--name": "name",
    "--strategy": "runtime.strategy",
    "--deterministic": "runtime.deterministic",
    "--mixed-precision": "runtime.mixed_precision",
    "--jit-compile": "runtime.jit_compile",
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=DEFAULT_PRESET,
                        help=f"named recipe; one of: {', '.join(sorted(PRESETS))}")
    parser.add_argument("--config", help="JSON file (e.g. a run's config.json) applied on the preset")
    parser.add_argument("--method", help=f"adversarial-training method; one of: {', '.join(method_names())}")
    aliases = {path: flag for flag, path in SHORTCUTS.items()}
    group = parser.add_argument_group("every config field, as --section.field VALUE")
    for path, tp in field_paths().items():
        if path == "preset":
            continue
        flags = [aliases[path], f"--{path}"] if path in aliases else [f"--{path}"]
        switch = {"nargs": "?", "const": "true"} if tp is bool else {}  # --flag alone means true
        group.add_argument(*flags, dest=f"set:{path}", metavar=_metavar(tp), **switch)


def _metavar(tp) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    tp = args[0] if args else tp
    return getattr(tp, "__name__", str(tp)).upper()


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """Preset, then --config file, then --method, then field flags; validated."""
    config = get_preset(args.preset)
    if args.config:
        config = load_config_file(args.config, config)
    if args.method:
        config = with_method(config, args.method)
    overrides = {
        key.removeprefix("set:"): value
        for key, value in vars(args).items()
        if key.startswith("set:") and value is not None
    }
    return apply_overrides(config, overrides).validate()
