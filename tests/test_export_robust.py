"""Export, check and runtimes under hostile input (issue 14): outputs, INT8 cache, edited and foreign models."""

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import write_png
from eemkit.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def fp32(tiny_student, tmp_path_factory):
    out = tmp_path_factory.mktemp("fp32")
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out / "model.onnx"


def _one_line(r, code, text):
    return r.exit_code == code and "Traceback" not in r.output and text in " ".join(r.output.split())


def _edited(src, dst, edit):
    import onnx

    proto = onnx.load(str(src))
    edit(proto)
    onnx.save(proto, str(dst))
    return dst


def _set_meta(proto, value):
    for p in proto.metadata_props:
        if p.key == "eemkit":
            p.value = value


# ---------------------------------------------------------------- 6 / 16. outputs checked first
def test_export_onto_a_read_only_file_system_is_a_usage_error(tiny_student, read_only_dir):
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(read_only_dir / "new")])
    assert _one_line(r, 2, "not writable"), r.output


def test_a_bad_calibration_method_is_refused_before_anything_is_written(tiny_student, ferplus_slice, tmp_path):
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "new"), "--int8", "--calib-data",
                            str(ferplus_slice), "--calib-method", "median"])
    assert _one_line(r, 2, "median"), r.output
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("bad", [{"calib_method": "median"}, {"int8_target": "gpu"}, {"format": "tflite"}])
def test_the_library_refuses_a_bad_option_before_anything_is_written(tiny_student, ferplus_slice, tmp_path, bad):
    """The same refusal one layer down (the CLI's choices stop the first two before the library sees them)."""
    from eemkit.errors import UsageError
    from eemkit.export.api import ExportOptions, export_checkpoint

    opts = ExportOptions(int8=True, calib_data=str(ferplus_slice), **bad)
    with pytest.raises(UsageError, match=next(iter(bad.values()))):
        export_checkpoint(tiny_student, tmp_path / "new", opts)
    assert not (tmp_path / "new").exists()


def test_every_file_of_an_export_is_written_atomically(tiny_student, ferplus_slice, tmp_path, monkeypatch):
    placed = set()
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst, **k: placed.add(os.path.abspath(dst)) or real_replace(src, dst, **k))
    monkeypatch.setenv("EEMKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "art"
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--fp16", "--int8", "--calib-data",
                            str(ferplus_slice), "--calib-n", "32"])
    assert r.exit_code == 0, r.output
    assert {os.path.abspath(p) for p in out.iterdir()} - placed == set()


# ---------------------------------------------------------------- 10. check reads the checkpoint hash
def test_check_refuses_an_artifact_of_another_checkpoint(tiny_student, fp32, ferplus_slice, tmp_path):
    from eemkit.train.checkpoint import load_checkpoint

    other = tmp_path / "other.pt"
    torch.save({**load_checkpoint(tiny_student), "history": []}, other)  # same weights, another file
    r = runner.invoke(app, ["check", str(fp32), "-c", str(other), "--data", str(ferplus_slice)])
    assert _one_line(r, 2, "exported from another checkpoint"), r.output


# ---------------------------------------------------------------- 11. foreign and edited models
def test_a_foreign_onnx_with_the_wrong_input_size_is_a_usage_error(tiny_student, fp32, ferplus_slice, tmp_path):
    plain = _edited(fp32, tmp_path / "plain.onnx", lambda p: p.metadata_props.__delitem__(slice(None)))
    r = runner.invoke(app, ["check", str(plain), "-c", str(tiny_student), "--data", str(ferplus_slice),
                            "--classes", "neutral,happiness,surprise,sadness,anger,disgust,fear,contempt",
                            "--input-size", "48", "--color", "gray"])
    assert _one_line(r, 2, "--input-size"), r.output


@pytest.fixture(scope="module")
def a_face(tmp_path_factory):
    p = tmp_path_factory.mktemp("img") / "a.png"
    write_png(p, np.full((64, 64), 128, np.uint8))
    return p


def test_metadata_that_is_not_json_is_a_usage_error(fp32, a_face, tmp_path):
    bad = _edited(fp32, tmp_path / "bad.onnx", lambda p: _set_meta(p, "{not json"))
    assert _one_line(runner.invoke(app, ["predict", str(a_face), "--model", str(bad)]), 2, "not valid JSON")


def test_metadata_without_classes_is_a_usage_error(fp32, a_face, tmp_path):
    from eemkit.export.metadata import read_onnx_metadata

    meta = {k: v for k, v in read_onnx_metadata(fp32).items() if k != "classes"}
    bad = _edited(fp32, tmp_path / "bad.onnx", lambda p: _set_meta(p, json.dumps(meta)))
    assert _one_line(runner.invoke(app, ["predict", str(a_face), "--model", str(bad)]), 2, "lacks 'classes'")


# ---------------------------------------------------------------- 12. the INT8 cache is verified
@pytest.fixture
def cached_export(tiny_student, ferplus_slice, tmp_path, monkeypatch):
    """Export INT8 once into a private cache; returns (cache entry, a function exporting again)."""
    monkeypatch.setenv("EEMKIT_CACHE", str(tmp_path / "cache"))

    def export(out):
        return runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / out), "--int8", "--calib-data",
                                   str(ferplus_slice), "--calib-n", "32"])

    assert export("first").exit_code == 0
    (entry,) = (tmp_path / "cache" / "int8").glob("*.onnx")
    return entry, export


def test_a_truncated_cache_entry_is_ignored(cached_export):
    entry, export = cached_export
    entry.write_bytes(entry.read_bytes()[:1000])
    r = export("again")
    assert r.exit_code == 0, r.output


def test_a_wrong_cache_entry_is_not_reused(cached_export, fp32, tmp_path):
    from eemkit.export.int8_cache import quantize_nodes

    entry, export = cached_export
    entry.write_bytes(fp32.read_bytes())  # a valid ONNX, but the FP32 model
    assert export("again").exit_code == 0
    assert quantize_nodes(tmp_path / "again" / "model.int8.onnx") > 0
