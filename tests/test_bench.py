import json
import os

import pytest
from typer.testing import CliRunner

from eemkit.bench.measure import time_fn
from eemkit.cli.app import app

runner = CliRunner()


def test_time_fn_statistics():
    import time

    t = time_fn(lambda: time.sleep(0.001), warmup=1, min_runs=10, min_time_s=0.01)
    assert t["runs"] >= 10 and t["median_ms"] >= 1.0
    assert t["p99_ms"] >= t["p90_ms"] >= t["median_ms"] > 0 and t["std_ms"] >= 0


def test_bench_cpu_formats_fields(tiny_student, ferplus_slice, tmp_path):
    out = tmp_path / "b"
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "torch,onnx,onnx-fp16,onnx-int8,engine-fp16",
                            "--data", str(ferplus_slice), "--batch", "1,8", "--threads", "1", "--min-time", "0.05",
                            "--artifacts", str(tmp_path / "art"), "--out", str(out), "--json", "--calib-n", "40"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert {"cpu", "threads", "torch", "onnxruntime", "tensorrt", "gpu"} <= set(res["machine"])
    rows = {row["format"]: row for row in res["rows"]}
    assert rows["engine-fp16"]["status"] == "failed" and "TensorRT" in rows["engine-fp16"]["reason"]
    for fmt in ("torch", "onnx", "onnx-fp16", "onnx-int8"):
        row = rows[fmt]
        assert row["status"] == "ok", row
        lat = row["latency"]
        assert lat["median_ms"] > 0 and lat["p99_ms"] >= lat["median_ms"] and lat["std_ms"] >= 0
        assert row["throughput"]["1"] > 0 and row["throughput"]["8"] > 0
        assert row["size_mb"] == pytest.approx(os.path.getsize(row["path"]) / 1e6)
        assert row["params"] > 0 and row["gflops"] > 0
        assert 0 <= row["accuracy"] <= 100 and 0 <= row["average"] <= 100
        assert row["speedup_vs_torch"] > 0
    assert rows["onnx-int8"]["size_mb"] < rows["onnx"]["size_mb"]
    assert rows["torch"]["speedup_vs_torch"] == pytest.approx(1.0)
    for f in ("bench.json", "bench.csv", "bench.md", "bench.png"):
        assert (out / f).stat().st_size > 0
    # a second run reuses the exported artifacts
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "onnx", "--artifacts", str(tmp_path / "art"),
                            "--min-time", "0.01", "--threads", "1"])
    assert r.exit_code == 0 and "reusing artifacts" in " ".join(r.output.split())


def test_bench_bad_input(tiny_student, tmp_path):
    def bad(*args):
        r = runner.invoke(app, ["bench", str(tiny_student), *args])
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        return " ".join(r.output.split())

    assert "positive" in bad("--batch", "0")
    assert "greater than or equal to 1" in bad("--threads", "-2")  # checked by the option itself, as on every verb
    assert "unknown format" in bad("--formats", "tflite")


def test_bench_data_of_another_class_set(tiny_student, tmp_path):
    import numpy as np

    from conftest import face_like, write_png

    rng = np.random.default_rng(0)
    for c in ("happy", "sad"):
        for i in range(4):
            write_png(tmp_path / "f" / "test" / c / f"{i}.png", face_like(rng, i))
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "torch", "--data", str(tmp_path / "f"),
                            "--format", "folder", "--min-time", "0.01"])
    assert r.exit_code == 2 and "classes" in r.output
