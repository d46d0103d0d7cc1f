"""The run's knobs and final accuracies for TensorBoard's HParams dashboard.

One trial per run folder (``tensorboard/hparams``); ``training.evaluate`` adds its accuracies
(AA, C&W, PGD-k) to the same trial, so a run's row fills in as it is evaluated.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from again_tf.config.schema import RunConfig

HPARAMS_DIR = "hparams"


def run_hparams(config: RunConfig) -> dict:
    """The knobs worth comparing across runs, as TensorBoard hparam values."""
    return {
        "method": config.method, "dataset": config.data.dataset, "backbone": config.model.backbone,
        "alpha": config.again.alpha, "beta_aux": config.again.beta_aux, "ase": config.again.ase,
        "hff": config.again.hff, "hff_probability": config.again.hff_probability,
        "hff_concentration": config.again.hff_concentration, "eps": config.attack.eps,
        "attack_steps": config.attack.steps, "lr": config.optim.lr,
        "weight_decay": config.optim.weight_decay, "epochs": config.optim.epochs,
        "batch_size": config.data.batch_size, "seed": config.seed,
    }


def write_hparams(tensorboard_dir: str | Path, metrics: dict[str, float],
                  config: RunConfig | None = None, trial_id: str | None = None) -> None:
    """``final/<name>`` scalars (and, with a config, the hparams) into ``<dir>/hparams``."""
    writer = tf.summary.create_file_writer(str(Path(tensorboard_dir) / HPARAMS_DIR))
    with writer.as_default():
        if config is not None:
            hp.hparams(run_hparams(config), trial_id=trial_id)
        for name, value in metrics.items():
            tf.summary.scalar(f"final/{name}", float(value), step=0)
    writer.flush()
