"""bench.serving against the test server: a few requests per batch size, sane figures."""

from __future__ import annotations

from bench.serving import main


def test_the_bench_reports_throughput_and_latency(local_server, capsys):
    rows = main(["--url", local_server.url, "--requests", "6", "--batch-sizes", "1,4", "--clients", "2"])
    assert [(r["batch"], r["requests"]) for r in rows] == [(1, 6), (4, 6)]
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p99_ms"] < 30_000
        assert abs(row["images_per_s"] - row["batch"] * row["requests_per_s"]) < 1e-6 * row["images_per_s"]
    assert "p99 ms" in capsys.readouterr().out
    rows = main(["--url", local_server.url, "--requests", "3", "--batch-sizes", "2",
                 "--signature", "predict_images_bytes"])
    assert rows[0]["requests_per_s"] > 0
