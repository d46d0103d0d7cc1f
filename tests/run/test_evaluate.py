"""The evaluation table's row names."""

from again_tf.run.evaluate import method_label


def test_method_labels_follow_the_seed():
    assert method_label("again_awp_pgd_at") == "AGAIN-AWP-PGD-AT"
    assert method_label("trades") == "TRADES" and method_label("again_mart") == "AGAIN-MART"
    assert method_label("cas_trades") == "CAS-TRADES" and method_label("las_at") == "LAS-AT"
