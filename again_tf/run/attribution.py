"""Attribution maps (Integrated Gradients, Grad-CAM) of run folders side by side, with their span on
clean and PGD-10 inputs; the library side of ``training.analyze attribution``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from again_tf.analysis import effective_support, grad_cam, integrated_gradients, mass_span, pixel_map
from again_tf.attacks.pgd import pgd_through_heads
from again_tf.engine import eval_attack_settings
from again_tf.errors import ConfigError
from again_tf.run.loaded_run import check_same_dataset, load_run


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


def _log_image(runs: list[Path], png: Path) -> None:
    image = tf.image.decode_png(png.read_bytes(), channels=3)[None]
    for run in runs:
        with tf.summary.create_file_writer(str(run / "tensorboard" / "analysis")).as_default():
            tf.summary.image("analysis/attribution", image, step=0)
