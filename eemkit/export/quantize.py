"""INT8: an explicitly quantized (Q/DQ) ONNX model from the FP32 ONNX and a calibration set.

Uses ONNX Runtime's static quantization in QDQ format. Two targets, because the best INT8 model for
a CPU and the one for TensorRT differ (PLATFORM.md):
  cpu: unsigned 8-bit activations, signed 8-bit per-channel weights (ORT's fast path on AVX2);
  trt: symmetric signed 8-bit activations and weights (what TensorRT's explicit quantization wants),
       biases kept in float (TensorRT dequantizes only INT8/FP8/INT4, never an INT32 bias) and the
       tail after the last Conv/Gemm (the logits) kept in float.
Calibration methods: minmax (the default, as in `eemkit export`), entropy, percentile. Named nodes can be kept in FP32.

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
    # "v3": trt-target models keep float biases and float logits; older cached files must not be reused
    body = json.dumps([fp32_sha, manifest_sha, target, method, sorted(exclude), input_kind, "v3"])
    return hashlib.sha256(body.encode()).hexdigest()[:24]


def quantize_int8(fp32_path: str | Path, out_path: str | Path, calib_inputs: np.ndarray, method: str = "minmax",
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
        extra.update({"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False})
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
        if target == "trt":
            proto = onnx.load(str(Path(tmp) / "int8.onnx"))
            float_tail(proto.graph)
            onnx.save(proto, str(Path(tmp) / "int8.onnx"))
        atomic_copy(Path(tmp) / "int8.onnx", out_path, what="INT8 model")
    if cached is not None:
        int8_cache.store(out_path, cached, log)
    return out_path, False


COMPUTE_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})


def float_tail(graph) -> int:
    """Keep the tail of a Q/DQ graph in float: bypass every activation Q->DQ pair on the way back from
    each graph output to the last Conv/Gemm/MatMul (the logits, their average, softmax). A pair that
    also feeds a Conv/Gemm stays for that reader. Graph output names are kept. Returns pairs bypassed."""
    prod = {o: n for n in graph.node for o in n.output}
    outputs = {o.name for o in graph.output}
    stack: list[tuple[str, object]] = [(name, None) for name in outputs]
    walked: set[int] = set()
    bypassed = 0
    while stack:
        t, reader = stack.pop()
        node = prod.get(t)
        if node is None or node.op_type in COMPUTE_OPS:
            continue
        q = prod.get(node.input[0]) if node.op_type == "DequantizeLinear" else None
        if q is not None and q.op_type == "QuantizeLinear":
            bypassed += 1
            if reader is None:  # a graph output: the float tensor takes its name, the DQ a new one
                _swap_names(graph, float_name=q.input[0], out_name=t, prod=prod)
                stack.append((t, None))
            else:
                reader.input[:] = [q.input[0] if i == t else i for i in reader.input]
                stack.append((q.input[0], reader))
        elif id(node) not in walked:
            walked.add(id(node))
            stack.extend((i, node) for i in node.input if i)
    _drop_dead_qdq(graph)
    return bypassed


def _swap_names(graph, float_name: str, out_name: str, prod: dict) -> None:
    """Graph output `out_name` (a DQ output) now names the float tensor `float_name`; the DQ output
    gets a new name, and its other readers follow it."""
    dq_name = out_name + "_dq"
    dq = prod[out_name]
    for n in graph.node:
        if n is not dq:
            n.input[:] = [dq_name if i == out_name else i for i in n.input]
    for n in graph.node:
        n.input[:] = [out_name if i == float_name else i for i in n.input]
        n.output[:] = [out_name if o == float_name else o for o in n.output]
    dq.output[:] = [dq_name]
    prod.update({o: n for n in graph.node for o in n.output})
    keep = [v for v in graph.value_info if v.name not in (float_name, out_name)]
    del graph.value_info[:]
    graph.value_info.extend(keep)


def _drop_dead_qdq(graph) -> None:
    """Remove Q/DQ nodes whose outputs nobody reads, then the scales and zero points only they read."""
    outputs = {o.name for o in graph.output}
    freed: set[str] = set()
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        dead = [n for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") and n.output[0] not in used]
        if not dead:
            break
        for n in dead:
            freed.update(n.input)
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used or t.name not in freed]
    del graph.initializer[:]
    graph.initializer.extend(keep)
