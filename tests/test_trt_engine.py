"""The TensorRT builder configuration and the engine runner, checked against stand-in `tensorrt`
objects: they run here, without TensorRT or a GPU. The real build is in test_export (marked trt)."""

import ctypes
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from eemkit.cli.app import app
from eemkit.errors import EemkitError, UsageError
from eemkit.export.tensorrt import Calibration, calibration_cache_file, configure_build, require_tensorrt
from eemkit.labels import LabelSpace
from eemkit.runtime import foreign_meta
from eemkit.runtime.trt_runner import TrtRunner

SHAPE = (3, 16, 16)


# ---- a stand-in for the parts of the tensorrt module the builder uses --------------------------------
class _Profile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, lo, opt, hi):
        self.shapes[name] = (tuple(lo), tuple(opt), tuple(hi))


class _Config:
    def __init__(self):
        self.flags, self.profiles, self.calibration_profile, self.int8_calibrator = set(), [], None, None

    def set_memory_pool_limit(self, pool, size):
        pass

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)

    def set_flag(self, flag):
        self.flags.add(flag)

    def set_calibration_profile(self, profile):
        self.calibration_profile = profile


class _Builder:
    def __init__(self, logger):
        pass

    def create_network(self, flags):
        return SimpleNamespace(get_input=lambda i: SimpleNamespace(name="input"))

    def create_builder_config(self):
        return _Config()

    def create_optimization_profile(self):
        return _Profile()


class _Logger:
    WARNING = 2

    def __init__(self, level):
        pass


def fake_trt(version="10.3.0.30"):
    return SimpleNamespace(
        __version__=version, Logger=_Logger, Builder=_Builder,
        OnnxParser=lambda network, logger: SimpleNamespace(parse_from_file=lambda p: True, num_errors=0),
        NetworkDefinitionCreationFlag=SimpleNamespace(STRONGLY_TYPED=0), MemoryPoolType=SimpleNamespace(WORKSPACE=0),
        BuilderFlag=SimpleNamespace(FP16="FP16", INT8="INT8"), IInt8EntropyCalibrator2=object,
        TensorIOMode=SimpleNamespace(INPUT="input", OUTPUT="output"), nptype=np.dtype)


def _calibration(tmp_path, manifest_sha="m" * 64, batch=32):
    cache = calibration_cache_file(tmp_path, "a" * 64, manifest_sha, "10.3.0.30", batch, "float_nchw")
    return Calibration([np.zeros((batch, *SHAPE), np.float32)] * 3, cache)


def test_calibration_runs_on_its_own_profile_at_the_calibration_batch(tmp_path):
    setup = configure_build(fake_trt(), "model.onnx", "int8", SHAPE, max_batch=8, calibration=_calibration(tmp_path))
    assert setup.config.calibration_profile.shapes["input"] == ((32, *SHAPE),) * 3


def test_the_engine_profile_spans_batch_1_to_max(tmp_path):
    setup = configure_build(fake_trt(), "model.onnx", "int8", SHAPE, max_batch=8, calibration=_calibration(tmp_path))
    assert [p.shapes["input"] for p in setup.config.profiles] == [((1, *SHAPE), (1, *SHAPE), (8, *SHAPE))]


def test_the_calibrator_uses_the_keyed_cache_file(tmp_path):
    calib = _calibration(tmp_path)
    setup = configure_build(fake_trt(), "model.onnx", "int8", SHAPE, calibration=calib)
    assert setup.config.int8_calibrator.cache_file == calib.cache_file == \
        calibration_cache_file(tmp_path, "a" * 64, "m" * 64, "10.3.0.30", 32, "float_nchw")


def test_another_calibration_manifest_gets_another_cache_file(tmp_path):
    assert _calibration(tmp_path, "m" * 64).cache_file != _calibration(tmp_path, "n" * 64).cache_file


def test_calibration_batches_of_different_sizes_are_refused(tmp_path):
    calib = Calibration([np.zeros((32, *SHAPE), np.float32), np.zeros((8, *SHAPE), np.float32)], tmp_path / "c")
    with pytest.raises(UsageError, match="one size"):
        configure_build(fake_trt(), "model.onnx", "int8", SHAPE, calibration=calib)


def test_tensorrt_11_has_no_implicit_calibration(tmp_path):
    with pytest.raises(UsageError, match="no implicit calibration"):
        configure_build(fake_trt("11.0.0"), "model.onnx", "int8", SHAPE, calibration=_calibration(tmp_path))


def test_tensorrt_8_is_refused_with_the_jetpack_release(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", fake_trt("8.6.2"))
    with pytest.raises(EemkitError, match="JetPack 6.0 ships 8.6"):
        require_tensorrt()


def test_a_cpu_target_qdq_model_is_refused_by_the_engine_builder(tmp_path):
    r = CliRunner().invoke(app, ["export", str(ROOT / "eemkit" / "assets" / "default-student.int8.onnx"),
                                 "--format", "engine", "--out", str(tmp_path / "e")])
    assert r.exit_code == 2 and "--int8-target trt" in " ".join(r.output.split())


# ---- a stand-in engine for the runner: host memory, a profile of batch 1..max -----------------------
def _view(ptr: int, dtype, shape) -> np.ndarray:
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_byte * n).from_address(ptr), dtype=dtype).reshape(shape)


class _Engine:
    names = ("input", "fine_logits", "coarse_logits")
    num_io_tensors = 3

    def __init__(self, max_batch=8, out_dtype=np.float32):
        self.max_batch, self.out_dtype = max_batch, out_dtype

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_mode(self, name):
        return "input" if name == "input" else "output"

    def get_tensor_dtype(self, name):
        return np.float32 if name == "input" else self.out_dtype

    def get_tensor_shape(self, name):
        return (-1, *SHAPE)

    def get_tensor_profile_shape(self, name, profile):
        return [(1, *SHAPE), (1, *SHAPE), (self.max_batch, *SHAPE)]


class _Context:
    """Accepts batches 1..max (or refuses all); the 'network' writes x[:, 0, 0, 0] into every logit."""

    def __init__(self, engine, refuse=False):
        self.engine, self.refuse, self.batches, self.addr, self.shape = engine, refuse, [], {}, None

    def set_input_shape(self, name, shape):
        if self.refuse or not 1 <= shape[0] <= self.engine.max_batch:
            return False
        self.shape = shape
        self.batches.append(shape[0])
        return True

    def get_tensor_shape(self, name):
        return (self.shape[0], 8 if name == "fine_logits" else 4)

    def set_tensor_address(self, name, ptr):
        self.addr[name] = ptr

    def execute_async_v3(self, stream):
        x = _view(self.addr["input"], np.float32, self.shape)
        for name in ("fine_logits", "coarse_logits"):
            out = _view(self.addr[name], self.engine.out_dtype, self.get_tensor_shape(name))
            out[:] = x[:, 0, 0, :1]
        return True


class _HostBuffers:
    def __init__(self):
        self.dtypes = []

    def to_device(self, x):
        return np.ascontiguousarray(x)

    def empty(self, shape, dtype):
        self.dtypes.append(np.dtype(dtype))
        return np.zeros(shape, dtype)

    def address(self, buf):
        return buf.ctypes.data

    def execute(self, context):
        return context.execute_async_v3(0)

    def to_host(self, buf):
        return buf.copy()

    def release(self):
        self.released = getattr(self, "released", 0) + 1


def _runner(engine, context, buffers=None) -> TrtRunner:
    meta = foreign_meta(list(LabelSpace.for_dataset("ferplus").fine), 16)
    r = TrtRunner(Path("stand-in.engine"), meta)
    r._bind(fake_trt(), engine, context, buffers or _HostBuffers())
    r.active = True
    return r


def _images(n):
    return np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)


def test_runner_splits_a_large_batch_into_profile_sized_chunks():
    engine = _Engine(max_batch=8)
    ctx = _Context(engine)
    _runner(engine, ctx).infer_prepared(_images(20))  # infer_prepared's own batch is 256
    assert ctx.batches == [8, 8, 4]


def test_runner_returns_chunked_outputs_in_input_order():
    engine = _Engine(max_batch=8)
    x = np.random.default_rng(1).standard_normal((20, *SHAPE)).astype(np.float32)
    out = _runner(engine, _Context(engine)).infer(x)
    np.testing.assert_array_equal(out["fine_logits"][:, 0], x[:, 0, 0, 0])


def test_runner_raises_on_a_refused_shape():
    engine = _Engine()
    with pytest.raises(EemkitError, match="refused input shape"):
        _runner(engine, _Context(engine, refuse=True)).infer(np.zeros((2, *SHAPE), np.float32))


def test_runner_allocates_outputs_in_the_engine_dtype():
    engine = _Engine(out_dtype=np.float16)
    buffers = _HostBuffers()
    _runner(engine, _Context(engine), buffers).infer(np.zeros((2, *SHAPE), np.float32))
    assert buffers.dtypes == [np.dtype(np.float16)] * 2
