"""--device cpu | cuda | tensorrt: ONNX Runtime's execution providers, checked against what the session really
runs (onnxruntime-gpu silently falls back to the CPU when no GPU is usable). No torch; no GPU here."""

import json

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from eemkit.cli.app import app
from eemkit.errors import EemkitError

pytestmark = pytest.mark.runtime
runner = CliRunner()
SHIPPED = ROOT / "eemkit" / "assets" / "default-student.int8.onnx"


def test_cuda_without_the_gpu_runtime_fails_in_one_line(tmp_path):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has the CUDA provider")
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "face.png"), np.full((48, 48), 128, np.uint8))
    r = runner.invoke(app, ["predict", str(tmp_path / "face.png"), "--crops", "--device", "cuda"])
    assert r.exit_code == 1 and "lacks CUDAExecutionProvider" in r.output and "Traceback" not in r.output, r.output


def test_an_unknown_device_is_a_usage_error():
    r = runner.invoke(app, ["eval", str(SHIPPED), "--device", "tpu"])
    assert r.exit_code == 2 and "tpu" in r.output, r.output


def test_a_silent_cpu_fallback_is_refused(monkeypatch):
    import onnxruntime as ort

    from eemkit.runtime import open_runner

    real = ort.InferenceSession

    class FallsBack(real):  # what onnxruntime-gpu does on a machine without a usable GPU
        def __init__(self, path, so=None, providers=None, **kw):
            super().__init__(path, so, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", FallsBack)
    with pytest.raises(EemkitError, match="asked for CUDAExecutionProvider but ONNX Runtime runs"):
        open_runner(SHIPPED, device="cuda").activate()


def test_the_tensorrt_provider_caches_its_engines(tmp_path, monkeypatch):
    from eemkit.runtime import open_runner

    monkeypatch.setenv("EEMKIT_CACHE", str(tmp_path))
    trt, opts = open_runner(SHIPPED, device="tensorrt")._provider_options()[0]
    assert trt == "TensorrtExecutionProvider" and opts["trt_engine_cache_enable"] and opts["trt_engine_cache_path"] == str(tmp_path / "ort-trt")


def test_info_lists_the_devices_this_onnxruntime_offers():
    r = runner.invoke(app, ["info", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["devices"][0] == "cpu", r.output
