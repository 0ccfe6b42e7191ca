"""bench under hostile input (issue 14, item 16): no GPU, no calibration data, where artifacts go."""

import json
import os
import shutil

import pytest
import torch
from typer.testing import CliRunner

from eemkit.cli.app import app

runner = CliRunner()
QUICK = ["--min-time", "0.01", "--batch", "1", "--threads", "1"]


def _one_line(r, code, text):
    return r.exit_code == code and "Traceback" not in r.output and text in " ".join(r.output.split())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_bench_on_cuda_without_a_gpu_is_a_usage_error(tiny_student):
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "torch", "--device", "cuda", *QUICK])
    assert _one_line(r, 2, "no CUDA GPU"), r.output


def test_bench_where_every_row_failed_exits_1(tiny_student, tmp_path):
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "engine-fp16", "--artifacts", str(tmp_path / "a"), *QUICK])
    assert _one_line(r, 1, "every benchmark row failed"), r.output


def test_bench_without_data_still_measures_fp32_onnx(tiny_student, tmp_path):
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "onnx,onnx-int8", "--artifacts", str(tmp_path / "a"),
                            "--json", *QUICK])
    rows = {row["format"]: row["status"] for row in json.loads(r.stdout)["rows"]}
    assert rows == {"onnx": "ok", "onnx-int8": "failed"}, r.output


def test_bench_exports_under_out_not_beside_the_checkpoint(tiny_student, tmp_path):
    ckpt = tmp_path / "run" / "best.pt"
    ckpt.parent.mkdir()
    shutil.copyfile(tiny_student, ckpt)
    r = runner.invoke(app, ["bench", str(ckpt), "--formats", "onnx", "--out", str(tmp_path / "results"), *QUICK])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["best.pt"]


def test_every_file_bench_writes_is_written_atomically(tiny_student, tmp_path, monkeypatch):
    placed = set()
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst, **k: placed.add(os.path.abspath(dst)) or real_replace(src, dst, **k))
    r = runner.invoke(app, ["bench", str(tiny_student), "--formats", "torch", "--out", str(tmp_path / "o"),
                            "--csv", str(tmp_path / "t.csv"), *QUICK])
    assert r.exit_code == 0, r.output
    assert {os.path.abspath(p) for p in tmp_path.rglob("*") if p.is_file()} - placed == set()
