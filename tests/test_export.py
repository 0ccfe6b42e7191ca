import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from eemkit.artifact import Checkpoint
from eemkit.cli.app import app
from eemkit.data.preprocess import PreprocessSpec
from eemkit.export.metadata import read_onnx_metadata
from eemkit.export.onnx_export import export_onnx, sample_input
from eemkit.labels import LabelSpace
from eemkit.models import STUDENT_BACKBONES, ModelSpec, create_model
from eemkit.runtime import open_runner

runner = CliRunner()
LABELS = LabelSpace.for_dataset("ferplus")


def _ckpt_for(model, spec):
    return Checkpoint.from_payload({"labels": LABELS.to_dict(), "preprocess": spec.to_dict(), "model_spec": model.spec.to_dict(),
                                    "stage": "student", "model": model.state_dict()})


def _warm_bn(model, size):
    """Give BatchNorm realistic statistics so activations are not ~1e-10 (PLATFORM.md)."""
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(16, 3, size, size))
    return model.eval()


@pytest.mark.parametrize("backbone", STUDENT_BACKBONES)
def test_every_student_backbone_exports_with_fp32_parity(backbone, tmp_path):
    import onnxruntime as ort

    spec = PreprocessSpec.for_input(32)
    model = _warm_bn(create_model(ModelSpec.for_labels(LABELS, backbone=backbone)), 32)
    path = export_onnx(model, _ckpt_for(model, spec), "0" * 64, tmp_path / "m.onnx")
    x = sample_input(spec, 3)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    fine, coarse = sess.run(["fine_logits", "coarse_logits"], {"input": x})
    with torch.no_grad():
        ref = model(torch.from_numpy(x))
    np.testing.assert_allclose(fine, ref["fine_logits"].numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(coarse, ref["coarse_logits"].numpy(), atol=1e-4, rtol=0)
    # dynamic batch
    assert sess.run(["fine_logits"], {"input": sample_input(spec, 5)})[0].shape == (5, 8)


@pytest.fixture(scope="module")
def full_export(tiny_student, ferplus_slice, tmp_path_factory):
    """FP32, FP16 and INT8 ONNX of tiny_student (with probabilities): (folder, CLI result)."""
    out = tmp_path_factory.mktemp("full") / "art"
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--fp16", "--int8", "--calib-data",
                            str(ferplus_slice), "--calib-n", "40", "--probs", "--json"])
    assert r.exit_code == 0, r.output
    return out, r


def test_full_export_int8_fp16_uint8_metadata_and_cache(full_export, tiny_student, ferplus_slice, tmp_path):
    out, r = full_export
    res = json.loads(r.stdout)
    arts = res["artifacts"]
    assert set(arts) == {"onnx", "onnx-fp16", "onnx-int8"}
    assert arts["onnx-int8"]["size_mb"] < arts["onnx-fp16"]["size_mb"] < arts["onnx"]["size_mb"]
    assert "thin" in r.stderr or "thin" in r.output  # warned below 300 calibration images
    manifest = json.loads((out / "calibration.json").read_text())
    assert manifest["n"] == 40 and len(manifest["files"]) == 40 and manifest["seed"] == 0
    # metadata round trip
    meta = read_onnx_metadata(out / "model.int8.onnx")
    assert meta["classes"] == list(LABELS.fine) and meta["precision"] == "int8"
    assert meta["quantization"]["calibration_manifest_sha256"] == manifest["sha256"]
    assert meta["fine_to_coarse"]["contempt"] == "negative" and meta["preprocess"]["input_size"] == 32
    assert len(meta["checkpoint_sha256"]) == 64
    with open_runner(out / "model.fp16.onnx") as fp16:
        assert fp16.precision == "fp16" and fp16.labels == LABELS
    # a second export with the same model and manifest reuses the INT8 cache and says so
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "again"), "--int8",
                            "--calib-manifest", str(out / "calibration.json"), "--calib-data", str(ferplus_slice), "--probs"])
    assert r.exit_code == 0, r.output
    assert "reused INT8 calibration cache" in r.output.replace("\n", " ")


def _check(artifact, tiny_student, ferplus_slice):
    return runner.invoke(app, ["check", str(artifact), "--checkpoint", str(tiny_student), "--data", str(ferplus_slice), "--json"])


@pytest.mark.parametrize("name", ["model.onnx", "model.fp16.onnx", "model.int8.onnx"])
def test_check_passes_for_each_precision(full_export, name, tiny_student, ferplus_slice):
    r = _check(full_export[0] / name, tiny_student, ferplus_slice)
    assert (r.exit_code, json.loads(r.stdout)["passed"]) == (0, True), r.output


def test_check_report_fields(full_export, tiny_student, ferplus_slice):
    rep = json.loads(_check(full_export[0] / "model.onnx", tiny_student, ferplus_slice).stdout)
    assert ({"agreement", "max_abs_diff", "mean_abs_diff", "cosine_mean"} <= set(rep["fine"])
            and set(rep["per_class_diff"]) == set(LABELS.fine) and rep["fine"]["max_abs_diff"] < 1e-4)


def test_check_fails_with_exit_3_on_a_perturbed_artifact(full_export, tiny_student, ferplus_slice, tmp_path):
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(full_export[0] / "model.onnx"))  # same metadata, same checkpoint hash
    rng = np.random.default_rng(0)
    for init in proto.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype == np.float32 and w.ndim >= 2:
            init.CopyFrom(numpy_helper.from_array(w + rng.normal(0, float(w.std()) + 1e-3, w.shape).astype(np.float32), init.name))
    onnx.save(proto, str(tmp_path / "perturbed.onnx"))
    r = _check(tmp_path / "perturbed.onnx", tiny_student, ferplus_slice)
    assert r.exit_code == 3, r.output


def test_uint8_input_export_matches_float(tiny_student, tmp_path):
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "u"), "--uint8-input"])
    assert r.exit_code == 0, r.output
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (48, 48), dtype=np.uint8) for _ in range(4)]
    with open_runner(tmp_path / "u" / "model.onnx") as u, open_runner(tiny_student) as t:
        assert u.input_kind == "uint8_nhwc"
        np.testing.assert_allclose(u.infer_images(imgs)["fine_logits"], t.infer_images(imgs)["fine_logits"], atol=1e-4)


def _err(r, code=2, text=""):
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    assert text in " ".join(r.output.split())


def test_export_bad_input(tiny_student, ferplus_slice, tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    _err(runner.invoke(app, ["export", str(foreign), "--out", str(tmp_path / "o")]), 2, "not an eemkit checkpoint")
    _err(runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "no" / "such" / "dir")]), 2, "does not exist")
    _err(runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "o"), "--int8"]), 2, "--data PATH")
    _err(runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "o"), "--int8", "--calib-data",
                             str(ferplus_slice), "--calib-n", "10"]), 2, "at least one batch")
    _err(runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "o"), "--format", "engine"]), 1, "TensorRT")


def test_calibration_set_of_another_class_set_or_size(tiny_student, ferplus_slice, tmp_path):
    from conftest import face_like, write_png
    from eemkit.export.calibration import load_calibration_images, sample_manifest

    rng = np.random.default_rng(0)
    for c in ("happy", "sad"):
        for i in range(20):
            write_png(tmp_path / "f" / c / f"{i}.png", face_like(rng, i))
    _err(runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "o"), "--int8", "--calib-data",
                             str(tmp_path / "f"), "--calib-format", "folder", "--calib-n", "32"]), 2, "calibration set has classes")
    m = sample_manifest(ferplus_slice, "ferplus", 40, spec=PreprocessSpec.for_input(64))
    from eemkit.errors import UsageError

    with pytest.raises(UsageError, match="made for 64 px"):
        load_calibration_images(m, LABELS, PreprocessSpec.for_input(32))


def test_check_foreign_onnx_needs_a_description(tiny_student, ferplus_slice, tmp_path):
    import onnx

    runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "a")])
    proto = onnx.load(str(tmp_path / "a" / "model.onnx"))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "plain.onnx"))
    _err(runner.invoke(app, ["check", str(tmp_path / "plain.onnx"), "-c", str(tiny_student), "--data", str(ferplus_slice)]),
         2, "no eemkit metadata")
    r = runner.invoke(app, ["check", str(tmp_path / "plain.onnx"), "-c", str(tiny_student), "--data", str(ferplus_slice),
                            "--classes", ",".join(LABELS.fine), "--input-size", "32", "--color", "gray", "--json"])
    assert r.exit_code == 0, r.output


def _trt_available() -> str | None:
    try:
        import tensorrt  # noqa: F401
    except Exception:
        return "TensorRT is not installed (PyPI's tensorrt is a stub here); engines are built on the target device"
    if not torch.cuda.is_available():
        return "no CUDA GPU: TensorRT engines need an NVIDIA GPU"
    return None


@pytest.fixture(scope="module")
def engines(tiny_student, ferplus_slice, tmp_path_factory):
    """FP32/FP16/INT8 engines with a profile of batch 1..8 (checks send more, so the runner must chunk)."""
    out = tmp_path_factory.mktemp("engines")
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--format", "engine", "--fp16", "--int8",
                            "--int8-target", "trt", "--calib-data", str(ferplus_slice), "--calib-n", "40",
                            "--max-batch", "8"])
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.trt
@pytest.mark.skipif(_trt_available() is not None, reason=str(_trt_available()))
def test_tensorrt_fp32_engine_passes_parity(engines, tiny_student, ferplus_slice):
    r = runner.invoke(app, ["check", str(engines / "model.fp32.engine"), "-c", str(tiny_student), "--data",
                            str(ferplus_slice), "--json"])
    assert r.exit_code == 0, r.output


@pytest.mark.trt
@pytest.mark.skipif(_trt_available() is not None, reason=str(_trt_available()))
def test_tensorrt_int8_engine_agrees_with_its_qdq_onnx(engines, ferplus_slice):
    from eemkit.data.datasets import load_split

    with open_runner(engines / "model.int8.engine") as e, open_runner(engines / "model.int8-trt.onnx") as o:
        imgs = load_split(ferplus_slice, "ferplus", "test", e.spec).images
        agree = (e.infer_prepared(imgs)["fine_logits"].argmax(1) == o.infer_prepared(imgs)["fine_logits"].argmax(1)).mean()
    assert agree >= 0.9


def test_engine_from_onnx_needs_engine_format_and_tensorrt(tiny_student, tmp_path):
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    onnx_path = str(tmp_path / "a" / "model.onnx")
    _err(runner.invoke(app, ["export", onnx_path, "--out", str(tmp_path / "b")]), 2, "only for --to engine")
    if _trt_available() is not None:
        _err(runner.invoke(app, ["export", onnx_path, "--out", str(tmp_path / "b"), "--format", "engine"]), 1, "TensorRT")


def test_calibration_methods_give_different_ranges(tiny_student, ferplus_slice, tmp_path):
    """Regression: ORT's default entropy histogram (128 bins for 128 quantized bins) equals min-max."""
    import onnx
    from onnx import numpy_helper

    def scales(method):
        r = runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / method), "--int8", "--calib-data",
                                str(ferplus_slice), "--calib-n", "40", "--calib-method", method])
        assert r.exit_code == 0, r.output
        m = onnx.load(str(tmp_path / method / "model.int8.onnx"))
        return {i.name: numpy_helper.to_array(i) for i in m.graph.initializer if i.name.endswith("_scale")}

    ent, mm = scales("entropy"), scales("minmax")
    assert any(not np.allclose(ent[k], mm[k]) for k in ent if k in mm)


@pytest.mark.parametrize("px", [64, 96])
def test_make_default_model_ships_nothing_that_fails_the_parity_check(tmp_path, monkeypatch, px):
    """benchmarks/make_default_model.py copies the INT8 model into the package only after it passes
    `eemkit check` against its checkpoint. It calibrates on the published manifest of the checkpoint's input
    side (64 px here), or samples one where none is published (96 px) and publishes it only with a model that
    passed."""
    import importlib.util
    import sys

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("make_default_model", ROOT / "benchmarks" / "make_default_model.py")
    mdm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mdm)
    onnx = tmp_path / "model.int8.onnx"
    onnx.write_bytes(b"not shipped")
    cal = tmp_path / "calibration"
    cal.mkdir()
    (cal / "set-64px.json").write_text("{}")
    monkeypatch.setattr(mdm, "MANIFEST", str(cal / "set-{px}px.json"))
    monkeypatch.setattr(mdm, "ASSETS", tmp_path / "assets")
    monkeypatch.setattr(mdm, "load_checkpoint", lambda p: {"config": {"data": {"input_size": px}}})
    used = []

    def export(ckpt, art, opts, log):
        used.append(opts.calib_manifest)
        Path(art).mkdir(parents=True, exist_ok=True)
        (Path(art) / "calibration.json").write_text("{}")  # what a sampled set leaves beside the artifacts
        return {"artifacts": {"onnx-int8": {"path": str(onnx)}}}

    monkeypatch.setattr(mdm, "export_checkpoint", export)
    monkeypatch.setattr(mdm, "check_artifact", lambda *a, **k: {"passed": False, "failures": ["accuracy drop 9.00 > 1.0 points"]})
    monkeypatch.setattr(mdm, "evaluate_checkpoint", lambda *a, **k: {})
    monkeypatch.setattr(sys, "argv", ["make_default_model.py", str(tmp_path / "best.pt"), str(tmp_path)])
    with pytest.raises(SystemExit, match="fails the parity check"):
        mdm.main()
    assert not (tmp_path / "assets").exists()
    assert used == [str(cal / "set-64px.json") if px == 64 else None]
    assert sorted(p.name for p in cal.iterdir()) == ["set-64px.json"]  # nothing published for a failed model
