"""How much each trained model's main head follows its ASE masks; the library side of
``training.analyze masks``."""

from __future__ import annotations

from pathlib import Path

from again_tf.analysis.mask_dependence import mask_dependence
from again_tf.errors import ConfigError
from again_tf.run.loaded_run import load_run


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
