"""A keras-tuner search over AGAIN's knobs, validated on held-out training data (never the test
set); the library side of ``python -m training.tune``.

Each trial is set up as ``train`` sets up a run (``again_tf.run.session``), then seeded from
``--seed`` and its searched values, so a resumed search rebuilds the same trials.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import keras
import keras_tuner as kt
import tensorflow as tf

from again_tf.config import RunConfig, apply_overrides
from again_tf.config.tuning import DEFAULT_FACTOR, DEFAULT_MAX_TRIALS, Budget
from again_tf.data import DataBundle, load_data
from again_tf.engine import build_model, compile_model
from again_tf.engine.distribution import cluster_size
from again_tf.errors import ConfigError
from again_tf.run.callbacks import BEST_ROBUST_MONITOR
from again_tf.run.folder import check_free_disk
from again_tf.run.session import model_scope, start_session, steps_per_epoch

OBJECTIVE = kt.Objective(BEST_ROBUST_MONITOR, direction="max")  # trials ranked as checkpoints are


def search_space(hp: kt.HyperParameters) -> dict[str, str]:
    """The searched fields as config overrides."""
    return {
        "again.alpha": str(hp.Float("alpha", 0.5, 0.9, step=0.1)),
        "again.beta_aux": str(hp.Float("beta_aux", 0.5, 4.0, sampling="log")),
        "again.hff_probability": str(hp.Float("hff_probability", 0.0, 1.0, step=0.25)),
        "again.hff_concentration": str(hp.Float("hff_concentration", 0.1, 2.0, sampling="log")),
        "optim.lr": str(hp.Float("lr", 0.01, 0.2, sampling="log")),
        "optim.weight_decay": str(hp.Float("weight_decay", 1e-4, 1e-3, sampling="log")),
    }


def trial_seed(seed: int, hp: kt.HyperParameters) -> int:
    """A trial's initialisation seed, from --seed and its searched values: the same on resume
    and in any trial order (Hyperband's bookkeeping values ``tuner/...`` are left out)."""
    values = {k: v for k, v in hp.values.items() if not k.startswith("tuner/")}
    return zlib.crc32(json.dumps([seed, values], sort_keys=True).encode()) % 2**31


class AgainHyperModel(kt.HyperModel):
    """Builds and fits one trial on the tuning data (training examples only)."""

    def __init__(self, base: RunConfig, data: DataBundle | None, steps_per_epoch: int):
        super().__init__()
        self.base, self.data, self.steps_per_epoch = base, data, steps_per_epoch

    def config(self, hp: kt.HyperParameters) -> RunConfig:
        return apply_overrides(self.base, search_space(hp)).validate()

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        config = self.config(hp)
        keras.utils.set_random_seed(trial_seed(config.seed, hp))
        with model_scope(config):  # the tuner enters its strategy's scope itself
            return compile_model(build_model(config, self.data.info), config, self.steps_per_epoch)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        """A continued Hyperband trial resumes the training stream where its first part stopped."""
        start = kwargs.get("initial_epoch", 0) * self.steps_per_epoch
        return model.fit(self.data.train_from(start), *args, steps_per_epoch=self.steps_per_epoch,
                         validation_data=self.data.val, shuffle=False, **kwargs)


def check_directory(directory: Path, min_free_mb: int) -> None:
    """Fails now, not after hours of trials, if the search folder cannot be written or is full."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--directory: cannot create {directory} ({err}); pick a writable one.") from None
    check_free_disk(directory, min_free_mb, "--directory")


def tuning_session(config: RunConfig, directory: Path) -> tf.distribute.Strategy:
    """A run's session set-up, after refusing what a search cannot do."""
    r = config.runtime
    if r.strategy == "multi_worker" or (r.strategy == "auto" and cluster_size() > 1):
        raise ConfigError("runtime.strategy=multi_worker: training.tune runs its trials in one process; "
                          "use --strategy mirrored or default (and train the best config on the cluster).")
    if r.checkpoint_every:
        raise ConfigError("runtime.checkpoint_every: training.tune resumes whole trials, not mid-epoch "
                          "states; pass --runtime.checkpoint_every 0 (set it when training the best config).")
    check_directory(directory, r.min_free_disk_mb)
    return start_session(config)


def make_tuner(budget: Budget, hypermodel: AgainHyperModel, directory: Path, project: str,
               strategy: tf.distribute.Strategy) -> kt.Tuner:
    common = dict(objective=OBJECTIVE, directory=str(directory), project_name=project,
                  seed=hypermodel.base.seed, overwrite=False, distribution_strategy=strategy)
    if budget.tuner == "hyperband":
        return kt.Hyperband(hypermodel, max_epochs=budget.epochs, factor=budget.factor or DEFAULT_FACTOR,
                            **common)
    return kt.BayesianOptimization(hypermodel, max_trials=budget.max_trials or DEFAULT_MAX_TRIALS, **common)


def search(config: RunConfig, budget: Budget, directory: Path, project: str) -> tuple[RunConfig, float]:
    """Runs (or resumes) the search in ``directory/project``; returns the best trial's config and
    its robust accuracy on the held-out validation split (the one the final training uses too)."""
    strategy = tuning_session(config, directory)
    data = load_data(config.data, config.seed, read_test=False)
    hypermodel = AgainHyperModel(config, data, steps_per_epoch(config, data))
    tuner = make_tuner(budget, hypermodel, directory, project, strategy)
    tuner.search(epochs=budget.epochs, verbose=config.verbose)
    best = hypermodel.config(tuner.get_best_hyperparameters(1)[0])
    return best, tuner.oracle.get_best_trials(1)[0].score
