"""The run folder: where a run writes, whether an existing one may be resumed, and disk space.

Every check here fails before training starts, not hours later at the first checkpoint.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from again_tf.callbacks.preemption import saved_step
from again_tf.config import DEFAULT_PRESET, RunConfig, get_preset, load_config_file
from again_tf.errors import ConfigError

RESUME_IGNORED = ("runtime", "verbose")  # how the run executes may change between attempts


def make_run_dir(config: RunConfig) -> Path:
    """The run folder: new under output_dir, or the named one (resumed if it holds a training
    state); writes config.json into it."""
    name = config.name or f"{config.preset}-{config.method}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(config.output_dir) / name
    suffix = 1
    while run_dir.exists() and config.name is None:
        run_dir = Path(config.output_dir) / f"{name}-{suffix}"
        suffix += 1
    check_resumable(run_dir, config)
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(config.to_json() + "\n")
    except OSError as err:
        raise ConfigError(f"output_dir: cannot write {run_dir} ({err}); pick a writable folder.") from None
    check_free_disk(run_dir, config.runtime.min_free_disk_mb, "output_dir")
    return run_dir


def check_free_disk(folder: Path, min_free_mb: int, flag: str) -> None:
    """A full disk found before training, not by the first checkpoint hours later."""
    free_mb = shutil.disk_usage(folder).free / 2**20
    if free_mb < min_free_mb:
        raise ConfigError(f"{flag}: only {free_mb:.0f} MB free at {folder}, below "
                          f"runtime.min_free_disk_mb={min_free_mb}; free space or pick another {flag}.")


def state_dir(run_dir: Path) -> Path:
    """Where the preemption-safe training state lives (``again_tf.callbacks.preemption``)."""
    return run_dir / "checkpoints" / "state"


def changed_settings(saved: dict, wanted: dict) -> list[str]:
    """The ``section.field`` (or top-level) names whose values differ, runtime settings left out."""
    saved = {k: v for k, v in saved.items() if k not in RESUME_IGNORED}
    wanted = {k: v for k, v in wanted.items() if k not in RESUME_IGNORED}
    changed = sorted(f"{section}.{key}" for section in wanted if isinstance(wanted[section], dict)
                     for key in wanted[section] if saved.get(section, {}).get(key) != wanted[section][key])
    top = sorted(k for k in wanted if not isinstance(wanted[k], dict) and saved.get(k) != wanted[k])
    return changed + top


def _saved_config(run_dir: Path) -> dict | None:
    """The folder's config.json as today's fields (an older run's migrated), None when there is
    none, {} when it cannot be read (another run's, as far as this check can tell)."""
    if not (run_dir / "config.json").exists():
        return None
    try:
        return json.loads(load_config_file(run_dir / "config.json", get_preset(DEFAULT_PRESET)).to_json())
    except ConfigError:
        return {}


def check_resumable(run_dir: Path, config: RunConfig) -> None:
    """A named folder that exists must be this run: a finished run, another config, or a run's
    results without a training state to resume from are refused, so no file of it is replaced."""
    if (run_dir / "final.json").is_file():
        raise ConfigError(f"{run_dir} holds a finished run; pick another --name (or move the folder away).")
    saved = _saved_config(run_dir)
    changed = [] if saved is None else changed_settings(saved, json.loads(config.to_json()))
    if changed:
        raise ConfigError(f"{run_dir} holds a run with other settings ({', '.join(changed[:5])}"
                          f"{', ...' if len(changed) > 5 else ''}); resume it with its own command, or "
                          f"pick another --name.")
    results = [p.name for p in (run_dir / "metrics.csv", *sorted((run_dir / "checkpoints").glob("*.keras")))
               if p.is_file()]
    if results and saved_step(state_dir(run_dir)) is None:
        raise ConfigError(f"{run_dir} holds {', '.join(results)} but no training state to resume from; "
                          f"pick another --name, or move the folder away to train it again.")


SPLIT_FILE = "data_split.json"


def record_split(run_dir: Path, split: dict) -> None:
    """Writes what the run validates on; a resumed run must find the same split it started with."""
    path = run_dir / SPLIT_FILE
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != split:
            raise ConfigError(f"{run_dir} was trained on another data split ({saved}, now {split}); "
                              f"resume it with the data it started with, or pick another --name.")
        return
    path.write_text(json.dumps(split, indent=2, sort_keys=True) + "\n")


def test_selection_warning(split: dict) -> str | None:
    """The mark every report of a run that validated on test images carries."""
    if split.get("val_source") != "test":
        return None
    return (f"WARN  validation used {split['val_examples']} test images (data.val_source=test): "
            f"best_robust.keras and the robustness-drop warning were chosen on test images; report "
            f"test numbers of the last weights, or retrain with data.val_source=holdout.")


def chief_dir(config: RunConfig) -> Path:
    """The chief's run folder, where every worker reads the training state to resume from."""
    if config.name is None:
        raise ConfigError("runtime.strategy=multi_worker: pass --name, the same on every worker, so "
                          "that all of them find the run folder (and its state when resuming).")
    return Path(config.output_dir) / config.name
