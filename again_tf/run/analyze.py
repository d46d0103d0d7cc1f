"""The paper's analysis of run folders (generalization-gap and metric curves, attribution maps
and span, mask dependence); the library side of ``python -m training.analyze``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from again_tf.analysis import effective_support, grad_cam, integrated_gradients, mass_span, pixel_map
from again_tf.analysis.mask_dependence import mask_dependence
from again_tf.attacks.pgd import pgd_through_heads
from again_tf.callbacks.metrics_csv import read_rows
from again_tf.data import load_arrays
from again_tf.engine import eval_attack_settings
from again_tf.engine.checkpoints import load_trained_model, resolve_source, run_config, source_dataset
from again_tf.errors import ConfigError

GAP_COLUMNS = ("gap_train_clean", "gap_test_clean", "gap_train_pgd10", "gap_test_pgd10")


def metrics_rows(run: Path) -> list[dict]:
    """The rows of a run's metrics.csv, one per epoch."""
    path = run / "metrics.csv"
    if not path.is_file():
        raise ConfigError(f"{run}: no metrics.csv; give a run folder written by training.train.")
    return read_rows(path)[1]


def read_gap(run: Path) -> dict[str, np.ndarray]:
    """The gap columns of a run's metrics.csv, rows where they were measured."""
    rows = metrics_rows(run)
    if not rows or any(c not in rows[0] for c in GAP_COLUMNS):
        raise ConfigError(f"{run}: metrics.csv has no gap curves; train with --eval.gap_examples 512 "
                          "(clean and PGD-10 accuracy on fixed train/test subsets each epoch).")
    values = np.array([[_number(r[c]) for c in GAP_COLUMNS] for r in rows])
    measured = np.isfinite(values).all(axis=1)  # empty on the epochs gap_every skipped
    if not measured.any():
        raise ConfigError(f"{run}: metrics.csv has gap columns but no epoch measured them; train "
                          "for at least --eval.gap_every epochs.")
    out = {"epoch": np.array([int(r["epoch"]) + 1 for r in rows])[measured]}
    out.update({c: values[measured, i] for i, c in enumerate(GAP_COLUMNS)})
    return out


def _number(text: str | None) -> float:
    """A metrics.csv cell as a float, NaN for a value the epoch did not log: an empty cell (or
    "NA"/"nan", as runs written with Keras' CSVLogger have them)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def gap_summary(name: str, curves: dict) -> str:
    best = int(np.argmax(curves["gap_test_pgd10"]))
    lines = [f"{name}:"]
    for label, i in (("best", best), ("last", len(curves["epoch"]) - 1)):
        std = curves["gap_train_clean"][i] - curves["gap_test_clean"][i]
        rob = curves["gap_train_pgd10"][i] - curves["gap_test_pgd10"][i]
        lines.append(f"  {label} (epoch {curves['epoch'][i]}): test PGD-10 "
                     f"{100 * curves['gap_test_pgd10'][i]:.2f}%, robust gap {100 * rob:+.2f} points, "
                     f"standard gap {100 * std:+.2f} points")
    return "\n".join(lines)


def check_same_dataset(runs: list[Path]) -> None:
    """Compared runs must share a data set: curves and maps of different data mean nothing together."""
    found = {}
    for run in runs:
        config = run / "config.json"
        if not config.is_file():
            raise ConfigError(f"{run}: no config.json; give run folders written by training.train.")
        found[run.name] = json.loads(config.read_text())["data"]["dataset"]
    if len(set(found.values())) > 1:
        listed = ", ".join(f"{k}: {v}" for k, v in found.items())
        raise ConfigError(f"the runs use different data sets ({listed}); compare runs of one data set.")


def _style(ax, title: str, ylabel: str) -> None:
    """Per-epoch curves: integer epochs, a light grid, the runs' legend."""
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _save(fig: Figure, out: Path) -> None:
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def plot_gap(runs: list[Path], out: Path) -> str:
    check_same_dataset(runs)
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    summaries = []
    for run in runs:
        curves = read_gap(run)
        for ax, kind in zip(axes, ("clean", "pgd10")):
            line, = ax.plot(curves["epoch"], curves[f"gap_train_{kind}"], label=f"{run.name} train")
            ax.plot(curves["epoch"], curves[f"gap_test_{kind}"], "--", color=line.get_color(),
                    label=f"{run.name} test")
        summaries.append(gap_summary(run.name, curves))
    for ax, title in zip(axes, ("(a) Standard generalization", "(b) Robust generalization (PGD-10)")):
        _style(ax, title, "accuracy")
    _save(fig, out)
    return "\n".join(summaries)


def read_metrics(run: Path, metrics: list[str]) -> dict[str, np.ndarray]:
    rows = metrics_rows(run)
    missing = [m for m in metrics if not rows or m not in rows[0]]
    if missing:
        allowed = ", ".join(c for c in (rows[0] if rows else {}) if c != "epoch")
        raise ConfigError(f"{run}: metrics.csv has no {', '.join(missing)}; it has: {allowed}.")
    out = {"epoch": np.array([int(r["epoch"]) + 1 for r in rows])}
    out.update({m: np.array([_number(r[m]) for r in rows]) for m in metrics})  # NaN: not logged
    return out


def plot_curves(runs: list[Path], metrics: list[str], out: Path) -> str:
    """One panel per metric, one line per run; prints each run's values per epoch."""
    fig = Figure(figsize=(5.5 * len(metrics), 4))
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    lines = []
    for run in runs:
        curves = read_metrics(run, metrics)
        for ax, metric in zip(axes, metrics):
            ax.plot(curves["epoch"], curves[metric], marker="o", label=run.name)
            values = " ".join(f"{v:.4f}" for v in curves[metric])
            lines.append(f"{run.name} {metric} by epoch: {values}")
    for ax, metric in zip(axes, metrics):
        _style(ax, metric, metric)
    _save(fig, out)
    return "\n".join(lines)


def grad_cam_layers(model) -> tuple[str, ...]:
    """The AGAIN sites of ``model`` (last first: the default) and the final feature map."""
    return tuple(dict.fromkeys((*reversed(model.backbone.sites), "features")))


def check_layer(run: Path, model, layer: str | None) -> None:
    allowed = grad_cam_layers(model)
    if layer is not None and layer not in allowed:
        raise ConfigError(f"--layer: got {layer!r}; allowed for {run.name}: {', '.join(allowed)} "
                          f"(its AGAIN sites, and 'features', the final feature map).")


def attribution_maps(model, x, y, method: str, layer: str | None = None) -> np.ndarray:
    """``[N, H, W]`` maps for the true classes, in batches of 64; Grad-CAM on ``layer``
    (default: the last AGAIN site)."""
    maps = []
    for start in range(0, len(x), 64):
        xb, yb = tf.constant(x[start:start + 64]), tf.constant(y[start:start + 64])
        if method == "gradcam":
            maps.append(grad_cam(lambda v: model.features_and_logits(v, layer), xb, yb).numpy())
        else:
            maps.append(pixel_map(integrated_gradients(lambda v: model(v, training=False), xb, yb)).numpy())
    return np.concatenate(maps)


def load_run(run: Path, checkpoint: str):
    source = resolve_source(run, checkpoint)
    config = run_config(source)
    info = source_dataset(source)
    _, (x, y) = load_arrays(info, config.data.source if config else "auto",
                            config.data.data_dir if config else None)
    return load_trained_model(source, info), config, (x / 255.0).astype(np.float32), y.astype(np.int32)


def span_line(run: Path, model, config, x, y, method: str, layer: str | None) -> tuple[str, np.ndarray]:
    """Attribution span on clean and PGD-10 inputs (through the ASE heads), and the clean maps; the
    run's threat model and evaluation step, and the ASE heads weighted as the model was trained."""
    attack = eval_attack_settings(config, steps=10)
    x_adv = pgd_through_heads(model.inference_fn(), x, y, beta_aux=model.beta_aux, **attack.kwargs()).numpy()
    clean = attribution_maps(model, x, y, method, layer)
    adv = attribution_maps(model, x_adv, y, method, layer)
    line = (f"{run.name}: {method} span on {len(x)} test images - mass span (80%) clean "
            f"{mass_span(clean).mean():.3f} / PGD-10 {mass_span(adv).mean():.3f}, effective support "
            f"clean {effective_support(clean).mean():.3f} / PGD-10 {effective_support(adv).mean():.3f}")
    return line, clean


def plot_attribution(runs: list[Path], images: int, n: int, method: str, out: Path,
                     checkpoint: str, layer: str | None = None) -> str:
    check_same_dataset(runs)
    loaded = [load_run(run, checkpoint) for run in runs]
    for run, (model, *_rest) in zip(runs, loaded):
        check_layer(run, model, layer)
    lines, columns, shown = [], [], None
    for run, (model, config, x, y) in zip(runs, loaded):
        line, maps = span_line(run, model, config, x[:max(n, images)], y[:max(n, images)], method, layer)
        lines.append(line)
        columns.append((run.name, maps[:images]))
        shown = x[:images]
    fig = Figure(figsize=(1.6 * (1 + len(runs)), 1.6 * images))
    axes = fig.subplots(images, 1 + len(runs), squeeze=False)
    axes[0, 0].set_title("test image", fontsize=8)
    for i in range(images):
        axes[i, 0].imshow(shown[i].squeeze(), cmap="gray", vmin=0, vmax=1)
        for j, (name, maps) in enumerate(columns, start=1):
            axes[i, j].imshow(maps[i], cmap="inferno")
            axes[0, j].set_title(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{'Integrated Gradients' if method == 'ig' else 'Grad-CAM'} for the true class "
                 "(brighter: more attribution)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    _log_image(runs, out)
    return "\n".join(lines)


def masks_lines(runs: list[Path], n: int, checkpoint: str):
    """One line per run, yielded as measured."""
    for run in runs:
        model, _, x, y = load_run(run, checkpoint)
        try:
            found = mask_dependence(model, x[:n], y[:n])
        except ValueError as err:
            raise ConfigError(f"{run}: {err} Pass runs of an ASE method (again_*, cas).") from None
        sites = [f"site {i + 1}: {100 * a:.1f}% (on its errors {100 * e:.1f}%)"
                 for i, (a, e) in enumerate(zip(found.agreement, found.agreement_on_errors))]
        yield (f"{run.name} ({len(y[:n])} test images): inference main head == ASE head, "
               + ", ".join(sites) + f"; training-mode masks from a wrong label: main head predicts "
               f"that label on {100 * found.follows_mask:.1f}%, the true one on "
               f"{100 * found.true_under_wrong_mask:.1f}%")


def _log_image(runs: list[Path], png: Path) -> None:
    image = tf.image.decode_png(png.read_bytes(), channels=3)[None]
    for run in runs:
        with tf.summary.create_file_writer(str(run / "tensorboard" / "analysis")).as_default():
            tf.summary.image("analysis/attribution", image, step=0)
