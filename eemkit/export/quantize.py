"""INT8: an explicitly quantized (Q/DQ) ONNX model from the FP32 ONNX and a calibration set.

Uses ONNX Runtime's static quantization in QDQ format. Two targets, because the best INT8 model for
a CPU and the one for TensorRT differ (PLATFORM.md):
  cpu: unsigned 8-bit activations, signed 8-bit per-channel weights (ORT's fast path on AVX2);
  trt: symmetric signed 8-bit activations and weights (what TensorRT's explicit quantization wants).
Calibration methods: entropy, minmax, percentile. Named nodes can be kept in FP32.

Results are cached on disk, keyed by the FP32 model's hash, the calibration manifest's hash, the
target, the method and the excluded nodes; a reused cache is reported, never silent.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.errors import UsageError
from eemkit.export import int8_cache
from eemkit.io_utils import atomic_copy

METHODS = ("entropy", "minmax", "percentile")
TARGETS = ("cpu", "trt")


class _Reader:
    """ONNX Runtime CalibrationDataReader over preprocessed float32 batches."""

    def __init__(self, name: str, batches: list[np.ndarray]) -> None:
        self.name, self.batches, self.i = name, batches, 0

    def get_next(self):
        if self.i >= len(self.batches):
            return None
        self.i += 1
        return {self.name: self.batches[self.i - 1]}

    def rewind(self) -> None:
        self.i = 0


ENTROPY_BINS, ENTROPY_QUANT_BINS = 2048, 255


@contextlib.contextmanager
def _entropy_bins(method: str):
    """quantize_static gives the entropy calibrator no histogram size, so it runs with 128 bins for 128
    quantized bins: one candidate threshold, i.e. plain min-max (measured: identical scales). Hand it
    2048 bins and 255 quantized bins (8 bits), the classic KL-calibration setting."""
    import importlib

    qmod = importlib.import_module("onnxruntime.quantization.quantize")  # the module, not the function
    original = qmod.create_calibrator
    if method != "entropy":
        yield
        return

    def with_bins(*args, extra_options=None, **kw):
        opts = dict(extra_options or {}, num_bins=ENTROPY_BINS, num_quantized_bins=ENTROPY_QUANT_BINS)
        return original(*args, extra_options=opts, **kw)

    qmod.create_calibrator = with_bins
    try:
        yield
    finally:
        qmod.create_calibrator = original


def cache_key(fp32_sha: str, manifest_sha: str, target: str, method: str, exclude: list[str], input_kind: str) -> str:
    body = json.dumps([fp32_sha, manifest_sha, target, method, sorted(exclude), input_kind, "v2"])
    return hashlib.sha256(body.encode()).hexdigest()[:24]


def quantize_int8(fp32_path: str | Path, out_path: str | Path, calib_inputs: np.ndarray, method: str = "entropy",
                  target: str = "cpu", exclude: list[str] | None = None, batch: int = 32,
                  cache_dir: str | Path | None = None, cache_key_str: str | None = None,
                  log: Callable[[str], None] | None = None) -> tuple[Path, bool]:
    """Quantize `fp32_path` into a Q/DQ model at `out_path`; returns (path, reused_from_cache).

    calib_inputs: the model input for the calibration images, (N, ...) float32 NCHW or uint8 NHWC,
    as the FP32 model takes it. Raises UsageError for an unknown method/target or too few images.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in METHODS:
        raise UsageError(f"unknown calibration method {method!r}; choose one of: {', '.join(METHODS)}")
    if target not in TARGETS:
        raise UsageError(f"unknown INT8 target {target!r}; choose one of: {', '.join(TARGETS)}")
    if len(calib_inputs) < batch:
        raise UsageError(f"calibration needs at least one batch ({batch} images), got {len(calib_inputs)}")
    out_path = Path(out_path)
    cached = Path(cache_dir) / f"{cache_key_str}.onnx" if cache_dir and cache_key_str else None
    if cached is not None and int8_cache.fetch(cached, out_path, log):  # verified (hash, Q/DQ nodes) first
        return out_path, True
    batches = [np.ascontiguousarray(calib_inputs[i:i + batch]) for i in range(0, len(calib_inputs) - batch + 1, batch)]
    cm = {"entropy": CalibrationMethod.Entropy, "minmax": CalibrationMethod.MinMax,
          "percentile": CalibrationMethod.Percentile}[method]
    extra: dict = {"CalibMovingAverage": False}
    if method == "percentile":
        extra["CalibPercentile"] = 99.99
    if target == "trt":
        act, wt = QuantType.QInt8, QuantType.QInt8
        extra.update({"ActivationSymmetric": True, "WeightSymmetric": True})
    else:
        act, wt = QuantType.QUInt8, QuantType.QInt8
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        import onnx

        name = onnx.load(str(pre), load_external_data=False).graph.input[0].name
        with contextlib.redirect_stdout(io.StringIO()), _entropy_bins(method):  # ORT prints calibration chatter
            quantize_static(str(pre), str(Path(tmp) / "int8.onnx"), _Reader(name, batches), quant_format=QuantFormat.QDQ,
                            activation_type=act, weight_type=wt, per_channel=True, calibrate_method=cm,
                            nodes_to_exclude=list(exclude or []), extra_options=extra)
        atomic_copy(Path(tmp) / "int8.onnx", out_path, what="INT8 model")
    if cached is not None:
        int8_cache.store(out_path, cached, log)
    return out_path, False
