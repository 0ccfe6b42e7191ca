"""The bench table reads at an 80-column terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import eemkit.cli.bench as bench_cli

MACHINE = {"cpu": "Intel(R) Xeon(R) Platinum 8480C", "threads": 2, "device": "cpu", "torch": "2.5.1", "onnxruntime": "1.20.1",
           "tensorrt": None}


def _row(fmt: str, ms: float, **kw) -> dict:
    return dict({"model": "ferplus-student-r18/best.pt", "format": fmt, "status": "ok", "size_mb": 44.8, "gflops": None,
                 "latency": {"median_ms": ms, "p90_ms": ms * 1.1, "p99_ms": ms * 1.3}, "throughput": {"1": 1000 / ms, "32": 900.0},
                 "accuracy": 84.1, "average": 70.2}, **kw)


@pytest.fixture
def table(monkeypatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(bench_cli, "console", Console(file=out, width=80, color_system=None))
    rows = [_row("torch", 4.2, size_mb=134.0, weights_mb=44.7, gflops=1.82), _row("onnx-fp16", 3.1, speedup_vs_torch=1.35),
            _row("onnx-int8", 1.6, speedup_vs_torch=2.6),
            {"model": "ferplus-student-r18/best.pt", "format": "engine-int8", "status": "failed", "reason": "no TensorRT"}]
    bench_cli.render_bench({"machine": MACHINE, "rows": rows})
    return out.getvalue()


def test_every_line_fits_80_columns(table):
    assert max(len(line) for line in table.splitlines()) <= 80


def test_format_names_are_whole(table):
    assert all(f in table for f in ("onnx-fp16", "onnx-int8", "engine-int8"))


def test_unknown_values_are_dashes_not_nan(table):
    assert "nan" not in table and "0.000" not in table


def test_torch_row_counts_weights_not_optimiser_state(table):
    assert "44.70" in table and "134.00" not in table
