"""metrics.csv: columns may appear late, skipped measurements are empty cells, one row per epoch."""

from again_tf.callbacks.metrics_csv import MetricsCSV, column_values, keep_epochs_before


def _epochs(path, logs_by_epoch):
    writer = MetricsCSV(path)
    writer.on_train_begin()
    for epoch, logs in logs_by_epoch:
        writer.on_epoch_end(epoch, dict(logs))
    writer.on_train_end()


def test_a_key_that_appears_later_adds_a_column_and_earlier_rows_get_empty_cells(tmp_path):
    path = tmp_path / "metrics.csv"
    _epochs(path, [(0, {"loss": 2.5}), (1, {"loss": 1.5, "gap_test_clean": 0.75}), (2, {"loss": 1.25})])
    assert path.read_text().splitlines() == ["epoch,loss,gap_test_clean", "0,2.5,", "1,1.5,0.75", "2,1.25,"]
    assert column_values(path, "gap_test_clean") == [0.75]


def test_a_resumed_run_appends_in_its_columns_and_keeps_one_row_per_epoch(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,b,a\n0,2.0,1.0\n1,4.0,3.0\n2,6.0,5.0\n")
    keep_epochs_before(path, 2)  # the state was saved in epoch 2: it runs again
    _epochs(path, [(2, {"a": 7.0, "b": 8.0}), (3, {"a": 9.0})])
    assert path.read_text().splitlines() == ["epoch,b,a", "0,2.0,1.0", "1,4.0,3.0", "2,8.0,7.0", "3,,9.0"]
    _epochs(path, [(3, {"a": 10.0, "c": 11.0})])  # a second fit() over the same epoch replaces its row
    assert path.read_text().splitlines()[-1] == "3,,10.0,11.0"
    assert path.read_text().splitlines()[0] == "epoch,b,a,c"
    assert not (tmp_path / "metrics.csv.tmp").exists()


def test_keep_epochs_before_zero_leaves_the_header_only_and_a_missing_file_alone(tmp_path):
    path = tmp_path / "metrics.csv"
    keep_epochs_before(path, 3)
    assert not path.exists() and column_values(path, "loss") == []
    path.write_text("epoch,loss\n0,1.0\n")
    keep_epochs_before(path, 0)
    assert path.read_text().splitlines() == ["epoch,loss"]
