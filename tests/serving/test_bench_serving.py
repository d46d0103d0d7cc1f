"""bench.serving against the test server: a few requests per setting, sane figures, the
in-process baseline measured in the same run."""

from __future__ import annotations

from bench.serving import main


def test_the_bench_reports_throughput_latency_and_the_baseline(local_server, exported, capsys):
    rows = main(["--url", local_server.url, "--model-dir", str(exported.model_dir), "--requests", "6",
                 "--batch-sizes", "1,4", "--concurrency", "1,2", "--keep-alive", "on,off", "--duration", "30",
                 "--rounds", "2"])
    assert [(r["batch"], r["concurrency"], r["keep_alive"]) for r in rows] == \
        [(b, c, k) for b in (1, 4) for c in (1, 2) for k in (True, False)]
    for row in rows:
        assert (row["requests"], row["errors"]) == (6, 0)
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] < 30_000
        assert abs(row["images_per_s"] - row["batch"] * row["requests_per_s"]) < 1e-6 * row["images_per_s"]
        assert row["in_process_images_per_s"] > 0
        assert abs(row["of_in_process"] - row["images_per_s"] / row["in_process_images_per_s"]) < 1e-9
    out = capsys.readouterr().out
    assert "| p50 ms | p95 ms | p99 ms |" in out and "of in-process" in out
    rows = main(["--url", local_server.url, "--requests", "3", "--batch-sizes", "2", "--concurrency", "1",
                 "--keep-alive", "on", "--signature", "predict_images_bytes"])
    assert rows[0]["requests"] == 3 and rows[0]["requests_per_s"] > 0 and rows[0]["of_in_process"] is None
