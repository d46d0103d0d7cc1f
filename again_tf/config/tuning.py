"""What a tuning search may spend (``again_tf.run.tune``), checked before TensorFlow is imported."""

from __future__ import annotations

import dataclasses

from again_tf.errors import ConfigError

DEFAULT_MAX_TRIALS, DEFAULT_FACTOR = 20, 3
TUNERS = ("hyperband", "bayesian")


@dataclasses.dataclass(frozen=True)
class Budget:
    """Which tuner and how much it may run: Hyperband's max epochs per trial (``epochs``) and
    reduction ``factor``, or Bayesian optimisation's ``max_trials`` of ``epochs`` each."""
    tuner: str = "hyperband"
    epochs: int = 3
    factor: int | None = None
    max_trials: int | None = None

    def validate(self) -> Budget:
        """Each tuner's budget flags only: a flag the tuner would ignore is an error."""
        if self.tuner not in TUNERS:
            raise ConfigError(f"--tuner: got {self.tuner!r}; allowed: {', '.join(TUNERS)}.")
        if self.tuner == "hyperband" and self.max_trials is not None:
            raise ConfigError("--max-trials: Hyperband's budget is --tune-epochs (max epochs per trial) and "
                              "--hyperband-factor; drop --max-trials, or use --tuner bayesian.")
        if self.tuner == "bayesian" and self.factor is not None:
            raise ConfigError("--hyperband-factor: only for --tuner hyperband; Bayesian optimisation's "
                              "budget is --max-trials.")
        if min(self.max_trials or 1, self.epochs) < 1 or (self.factor or 2) < 2:
            raise ConfigError(f"--max-trials and --tune-epochs must be >= 1, --hyperband-factor >= 2; got "
                              f"{self.max_trials}, {self.epochs} and {self.factor}.")
        return self
