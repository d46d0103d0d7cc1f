"""A method from outside the package: subclass Method, register it, train it with the library."""

import csv

import numpy as np
import pytest

from again_tf.attacks.losses import cross_entropy
from again_tf.config import apply_overrides, get_preset, register_method, with_method
from again_tf.config import methods as registry
from again_tf.methods import Method
from again_tf.run import train


class CleanTraining(Method):
    """Plain CE on x: the 'adversarial' examples are the clean images themselves."""

    def adversarial_examples(self, model, x, y):
        return x

    def head_terms(self, logits_adv, logits_clean, labels, **extra):
        return {"loss": cross_entropy(logits_adv, labels)}

    def attack_head_loss(self, logits_adv, labels, reference_logits):
        return cross_entropy(logits_adv, labels)


@pytest.mark.slow
def test_a_registered_outside_method_trains_with_the_library_entry_point(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_method("clean_ce", CleanTraining)
    config = apply_overrides(with_method(get_preset("quickstart"), "again_clean_ce"), {
        "model.widths": "8,8,16", "optim.steps_per_epoch": "80", "optim.epochs": "2", "data.batch_size": "64",
        "data.val_examples": "64", "data.test_examples": "128", "output_dir": str(tmp_path), "verbose": "0",
        "model.block_site_path": "series"})  # the tiny net learns faster with it; the plugin is the point
    run_dir, result = train(config.validate())
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    clean, robust = (np.array([float(r[k]) for r in rows]) for k in ("clean_accuracy", "robust_accuracy"))
    np.testing.assert_allclose(robust, clean)  # its x_adv is x: the train step used the method
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"]) and "loss_aux" in rows[0]  # AGAIN's heads too
    assert result["clean_accuracy"] > 0.4 and (run_dir / "checkpoints" / "last.keras").is_file()
