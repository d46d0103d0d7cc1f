from again_tf.callbacks.metrics_csv import write_rows
from again_tf.run.robustness_drop import robustness_drop_warning

# hff-only-s1 of issue 17's grid: the last epoch fell 14.4 points (docs/results.md)
COLLAPSED = [0.61, 0.668, 0.733, 0.72, 0.741, 0.687, 0.759, 0.783, 0.639]


def _metrics(tmp_path, values, column="val_robust_accuracy"):
    path = tmp_path / "metrics.csv"
    write_rows(path, ["epoch", column], [{"epoch": i, column: "" if v is None else v}
                                         for i, v in enumerate(values)])
    return path


def test_a_last_epoch_far_below_the_best_warns_with_both_epochs_and_the_fix(tmp_path):
    warning = robustness_drop_warning(_metrics(tmp_path, COLLAPSED))
    assert warning.startswith("WARN")
    assert "78.30% (epoch 8) to 63.90% (epoch 9)" in warning and "best_robust" in warning


def test_dips_that_recover_small_drops_and_missing_curves_do_not_warn(tmp_path):
    assert robustness_drop_warning(_metrics(tmp_path, [0.70, 0.60, 0.74])) is None  # recovered
    assert robustness_drop_warning(_metrics(tmp_path, [0.748, 0.735])) is None  # TRADES: 1.3 points
    assert robustness_drop_warning(_metrics(tmp_path, [0.80, 0.76], "robust_accuracy")) is None
    assert robustness_drop_warning(tmp_path / "absent.csv") is None


def test_the_threshold_is_in_points_and_epochs_without_a_value_are_skipped(tmp_path):
    path = _metrics(tmp_path, [0.80, None, 0.76])
    assert "epoch 3" in robustness_drop_warning(path, drop_points=3.0)
    assert robustness_drop_warning(path, drop_points=4.5) is None
