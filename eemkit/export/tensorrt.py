"""TensorRT engine building from the exported ONNX, against the real `tensorrt` Python API.

Supported: TensorRT 10 (JetPack 6.1 / 6.2 ship 10.3) and TensorRT 11+. TensorRT 8.x (JetPack 6.0 ships
8.6, JetPack 5 ships 8.5) is refused with a clear message: the code uses the TensorRT 10 API.
- TensorRT >= 11 has no precision flags and no implicit calibration: networks are strongly typed, so
  precision comes from the ONNX itself: FP16 from the FP16 ONNX, INT8 from the Q/DQ ONNX
  (target "trt": symmetric signed INT8).
- TensorRT 10: FP16 sets BuilderFlag.FP16 on the FP32 ONNX; INT8 from a Q/DQ ONNX sets
  BuilderFlag.INT8 (explicit quantization, no calibrator); INT8 from a plain FP32 ONNX uses implicit
  calibration with an entropy calibrator, run on its own profile (min = opt = max = the calibration
  batch), whose cache file is keyed by model, manifest, TensorRT version, batch and input kind.
The product is a plain serialized plan (no custom header), so trtexec and DeepStream load it; the
metadata lives beside it in `<engine>.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from eemkit.errors import EemkitError, UsageError

MIN_MAJOR = 10


def require_tensorrt():
    """Import tensorrt, check its version (10+) and a CUDA GPU; raise EemkitError saying what to do otherwise."""
    try:
        import tensorrt as trt
    except Exception:
        raise EemkitError(
            "TensorRT is not installed here: on a Jetson use JetPack 6.1 or 6.2 (TensorRT 10.3); on an x86 GPU box "
            "`pip install tensorrt-cu12` from NVIDIA's index. ONNX artifacts run here without it."
        ) from None
    check_version(trt)
    if cuda_device_count() < 1:
        raise EemkitError("TensorRT needs an NVIDIA GPU with CUDA; none is visible here")
    return trt


def cudart_module():
    """cuda-python's runtime module: cuda.bindings.runtime (cuda-python 12.6+) or cuda.cudart (older);
    raises ImportError when cuda-python is not installed."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart
    return cudart


def cuda_device_count() -> int:
    """CUDA devices visible through cuda-python, else through torch; EemkitError when neither is installed."""
    try:
        rt = cudart_module()
    except ImportError:
        try:
            import torch
        except ImportError:
            raise EemkitError("TensorRT here needs cuda-python for device memory: pip install cuda-python "
                              "(or a CUDA build of PyTorch)") from None
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    err, count = rt.cudaGetDeviceCount()
    return int(count) if err == rt.cudaError_t.cudaSuccess else 0


def trt_major(trt) -> int:
    return int(str(trt.__version__).split(".")[0])


def check_version(trt) -> int:
    """The TensorRT major version; raises EemkitError for TensorRT < 10 (JetPack 6.0 and 5.x)."""
    major = trt_major(trt)
    if major < MIN_MAJOR:
        raise EemkitError(
            f"TensorRT {trt.__version__} is too old: eemkit builds and runs engines with TensorRT 10 or newer "
            "(JetPack 6.1 and 6.2 ship 10.3; JetPack 6.0 ships 8.6, JetPack 5 ships 8.5). Upgrade JetPack, "
            "or run the ONNX model with ONNX Runtime")
    return major


@dataclass(frozen=True)
class Calibration:
    """TensorRT 10 implicit INT8 calibration: equal-sized float32 NCHW batches and the cache file to use."""

    batches: list[np.ndarray]
    cache_file: Path

    @property
    def batch(self) -> int:
        return int(self.batches[0].shape[0])


def calibration_cache_file(cache_dir: str | Path, onnx_sha: str, manifest_sha: str, trt_version: str, batch: int,
                           input_kind: str) -> Path:
    """Where the calibration cache of this model, manifest, TensorRT version, batch and input kind lives:
    a different model or calibration set never reuses another's cache."""
    body = json.dumps([onnx_sha, manifest_sha, str(trt_version), int(batch), input_kind, "entropy2", "v1"])
    return Path(cache_dir) / "trt-calib" / f"{hashlib.sha256(body.encode()).hexdigest()[:24]}.calib"


def _make_calibrator(trt, calibration: Calibration, log: Callable[[str], None]):
    """IInt8EntropyCalibrator2 (TensorRT 10 only) feeding float32 NCHW batches through torch CUDA memory."""
    batches, cache_file = calibration.batches, Path(calibration.cache_file)

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self.i, self.dev, self.cache_file = 0, None, cache_file

        def get_batch_size(self) -> int:
            return calibration.batch

        def get_batch(self, names):
            import torch

            if self.i >= len(batches):
                return None
            self.dev = torch.from_numpy(np.ascontiguousarray(batches[self.i])).cuda()
            self.i += 1
            return [int(self.dev.data_ptr())]

        def read_calibration_cache(self):
            if cache_file.is_file():
                log(f"reusing TensorRT calibration cache {cache_file} (keyed to this model, manifest and TensorRT)")
                return cache_file.read_bytes()
            return None

        def write_calibration_cache(self, cache) -> None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_bytes(bytes(cache))

    return EntropyCalibrator()


@dataclass
class BuildSetup:
    """What `configure_build` assembled. The parser (and its logger) stay referenced until the build:
    the parser owns the weights the network points at."""

    builder: Any
    network: Any
    config: Any
    timing_cache: Any
    parser: Any
    logger: Any


def build_engine(onnx_path: str | Path, engine_path: str | Path, precision: str, input_shape: tuple[int, ...],
                 max_batch: int = 32, opt_batch: int = 1, workspace_mb: int = 1024,
                 timing_cache: str | Path | None = None, qdq: bool = False, calibration: Calibration | None = None,
                 log: Callable[[str], None] = lambda s: None) -> Path:
    """Build a serialized TensorRT plan for `onnx_path` at `engine_path`; returns the path.

    precision: fp32 | fp16 | int8 (never silently downgraded: a precision TensorRT cannot honour is
    an error). input_shape: one sample's shape without the batch axis. qdq: the ONNX is explicitly
    quantized. Raises EemkitError when TensorRT/GPU is missing or the build fails.
    """
    _check_precision(precision)
    trt = require_tensorrt()
    setup = configure_build(trt, onnx_path, precision, input_shape, max_batch, opt_batch, workspace_mb,
                            timing_cache, qdq, calibration, log)
    plan = setup.builder.build_serialized_network(setup.network, setup.config)
    if plan is None:
        raise EemkitError(f"TensorRT failed to build a {precision} engine from {onnx_path} (see the log above)")
    engine_path = Path(engine_path)
    tmp = engine_path.with_suffix(engine_path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(plan)  # a plain plan: no header, loadable by trtexec and DeepStream
    os.replace(tmp, engine_path)
    if setup.timing_cache is not None:
        Path(timing_cache).write_bytes(memoryview(setup.timing_cache.serialize()))
    return engine_path


def configure_build(trt, onnx_path: str | Path, precision: str, input_shape: tuple[int, ...], max_batch: int = 32,
                    opt_batch: int = 1, workspace_mb: int = 1024, timing_cache: str | Path | None = None,
                    qdq: bool = False, calibration: Calibration | None = None,
                    log: Callable[[str], None] = lambda s: None) -> BuildSetup:
    """Parse the ONNX and assemble the builder config (profile, precision, calibrator, timing cache)
    without building: `trt` is the tensorrt module. Raises UsageError for a precision this TensorRT
    cannot honour from this ONNX, EemkitError when the parser rejects it."""
    _check_precision(precision)
    major = check_version(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = major >= 11 or (precision == "fp16" and _onnx_is_fp16(onnx_path))
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if major == 10 and strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EemkitError(f"TensorRT could not parse {onnx_path}: {errs}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    name = network.get_input(0).name
    _add_profile(builder, config, name, input_shape, 1, opt_batch, max_batch, add=True)
    if strongly_typed:
        _check_strongly_typed(trt, onnx_path, precision, qdq)
    elif precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if not qdq:
            _add_calibration(trt, builder, config, name, input_shape, calibration, log)
    cache = None
    if timing_cache is not None:
        tc = Path(timing_cache)
        cache = config.create_timing_cache(tc.read_bytes() if tc.is_file() else b"")
        config.set_timing_cache(cache, ignore_mismatch=False)
    return BuildSetup(builder, network, config, cache, parser, logger)


def _check_precision(precision: str) -> None:
    if precision not in ("fp32", "fp16", "int8"):
        raise UsageError(f"unknown engine precision {precision!r}; choose fp32, fp16 or int8")


def _add_profile(builder, config, name: str, shape: tuple[int, ...], lo: int, opt: int, hi: int, add: bool):
    profile = builder.create_optimization_profile()
    profile.set_shape(name, (lo, *shape), (opt, *shape), (hi, *shape))
    if add:
        config.add_optimization_profile(profile)
    return profile


def _add_calibration(trt, builder, config, name: str, shape: tuple[int, ...], calibration: Calibration | None,
                     log: Callable[[str], None]) -> None:
    """The calibrator runs on its own profile fixed at the calibration batch: on the engine's profile it
    would run at the opt shape (batch 1) and see one image of each batch."""
    if calibration is None or not calibration.batches:
        raise UsageError("INT8 from an FP32 ONNX on TensorRT 10 needs calibration data (--data)")
    sizes = sorted({int(b.shape[0]) for b in calibration.batches})
    if len(sizes) != 1:
        raise UsageError(f"calibration batches must all have one size; got sizes {sizes}")
    n = calibration.batch
    config.int8_calibrator = _make_calibrator(trt, calibration, log)
    config.set_calibration_profile(_add_profile(builder, config, name, shape, n, n, n, add=False))


def _check_strongly_typed(trt, onnx_path: str | Path, precision: str, qdq: bool) -> None:
    """A strongly typed network takes its precision from the ONNX: refuse what it cannot honour."""
    if precision == "int8" and not qdq:
        raise UsageError(f"TensorRT {trt.__version__} has no implicit calibration: build INT8 from the Q/DQ ONNX "
                         "(eemkit export --int8 --int8-target trt)")
    if precision == "fp16" and not _onnx_is_fp16(onnx_path):
        raise UsageError(f"TensorRT {trt.__version__} is strongly typed: build FP16 from the FP16 ONNX "
                         "(eemkit export --fp16)")


def _onnx_is_fp16(path: str | Path) -> bool:
    from eemkit.export.metadata import read_onnx_metadata

    meta = read_onnx_metadata(path) or {}
    return meta.get("precision") == "fp16"
