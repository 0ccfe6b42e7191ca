"""TensorRT engine building from the exported ONNX, against the real `tensorrt` Python API.

Supported: TensorRT 10 (JetPack 6) and TensorRT 11+.
- TensorRT >= 11 has no precision flags and no implicit calibration: networks are strongly typed, so
  precision comes from the ONNX itself: FP16 from the FP16 ONNX, INT8 from the Q/DQ ONNX
  (target "trt": symmetric signed INT8).
- TensorRT 10: FP16 sets BuilderFlag.FP16 on the FP32 ONNX; INT8 from a Q/DQ ONNX sets
  BuilderFlag.INT8 (explicit quantization, no calibrator); INT8 from a plain FP32 ONNX uses implicit
  calibration with an entropy calibrator whose cache file is keyed by model and manifest hashes.
The product is a plain serialized plan (no custom header), so trtexec and DeepStream load it; the
metadata lives beside it in `<engine>.json`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.errors import EemkitError, UsageError


def require_tensorrt():
    """Import tensorrt and check for a CUDA GPU; raise EemkitError saying what to install otherwise."""
    try:
        import tensorrt as trt
    except Exception:
        raise EemkitError(
            "TensorRT is not installed here: on a Jetson use JetPack 6 (TensorRT 10); on an x86 GPU box "
            "`pip install tensorrt-cu12` from NVIDIA's index. ONNX artifacts run here without it."
        ) from None
    import torch

    if not torch.cuda.is_available():
        raise EemkitError("building a TensorRT engine needs an NVIDIA GPU with CUDA; none is visible here")
    return trt


def trt_major(trt) -> int:
    return int(str(trt.__version__).split(".")[0])


def _make_calibrator(trt, batches: list[np.ndarray], cache_file: Path, log: Callable[[str], None]):
    """IInt8EntropyCalibrator2 (TensorRT 10 only) feeding float32 NCHW batches through torch CUDA memory."""
    import torch

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self.i, self.dev = 0, None

        def get_batch_size(self) -> int:
            return int(batches[0].shape[0])

        def get_batch(self, names):
            if self.i >= len(batches):
                return None
            self.dev = torch.from_numpy(batches[self.i]).cuda().contiguous()
            self.i += 1
            return [int(self.dev.data_ptr())]

        def read_calibration_cache(self):
            if cache_file.is_file():
                log(f"reusing TensorRT calibration cache {cache_file} (keyed to this model and manifest)")
                return cache_file.read_bytes()
            return None

        def write_calibration_cache(self, cache) -> None:
            cache_file.write_bytes(bytes(cache))

    return EntropyCalibrator()


def build_engine(onnx_path: str | Path, engine_path: str | Path, precision: str, input_shape: tuple[int, ...],
                 max_batch: int = 32, opt_batch: int = 1, workspace_mb: int = 1024,
                 timing_cache: str | Path | None = None, qdq: bool = False,
                 calib_batches: list[np.ndarray] | None = None, calib_cache: str | Path | None = None,
                 log: Callable[[str], None] = lambda s: None) -> Path:
    """Build a serialized TensorRT plan for `onnx_path`.

    precision: fp32 | fp16 | int8 (never silently downgraded: a precision TensorRT cannot honour is
    an error). input_shape: one sample's shape without the batch axis. qdq: the ONNX is explicitly
    quantized. Raises EemkitError when TensorRT/GPU is missing or the build fails.
    """
    if precision not in ("fp32", "fp16", "int8"):
        raise UsageError(f"unknown engine precision {precision!r}; choose fp32, fp16 or int8")
    trt = require_tensorrt()
    major = trt_major(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = major >= 11
    flags = 0
    if major == 10 and precision == "fp16" and _onnx_is_fp16(onnx_path):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        strongly_typed = True
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EemkitError(f"TensorRT could not parse {onnx_path}: {errs}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    inp = network.get_input(0)
    profile = builder.create_optimization_profile()
    profile.set_shape(inp.name, (1, *input_shape), (opt_batch, *input_shape), (max_batch, *input_shape))
    config.add_optimization_profile(profile)
    if not strongly_typed:
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        elif precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)
            if not qdq:
                if not calib_batches:
                    raise UsageError("INT8 from an FP32 ONNX on TensorRT 10 needs calibration data (--calib-data)")
                config.int8_calibrator = _make_calibrator(trt, calib_batches, Path(calib_cache or str(engine_path) + ".calib"), log)
                config.set_calibration_profile(profile)
    elif precision == "int8" and not qdq:
        raise UsageError(f"TensorRT {trt.__version__} has no implicit calibration: build INT8 from the Q/DQ ONNX "
                         "(eemkit export --int8 --int8-target trt)")
    elif precision == "fp16" and not _onnx_is_fp16(onnx_path):
        raise UsageError(f"TensorRT {trt.__version__} is strongly typed: build FP16 from the FP16 ONNX (eemkit export --fp16)")
    cache = None
    if timing_cache is not None:
        tc = Path(timing_cache)
        cache = config.create_timing_cache(tc.read_bytes() if tc.is_file() else b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise EemkitError(f"TensorRT failed to build a {precision} engine from {onnx_path} (see the log above)")
    engine_path = Path(engine_path)
    tmp = engine_path.with_suffix(engine_path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(plan)  # a plain plan: no header, loadable by trtexec and DeepStream
    os.replace(tmp, engine_path)
    if cache is not None:
        Path(timing_cache).write_bytes(memoryview(cache.serialize()))
    return engine_path


def _onnx_is_fp16(path: str | Path) -> bool:
    from eemkit.export.metadata import read_onnx_metadata

    meta = read_onnx_metadata(path) or {}
    return meta.get("precision") == "fp16"
