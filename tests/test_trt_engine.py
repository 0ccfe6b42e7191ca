"""The TensorRT engine runner, checked against stand-in `tensorrt` objects: it runs here, without
TensorRT or a GPU. The real engines are in test_export (marked trt)."""

import ctypes
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from eemkit.errors import EemkitError
from eemkit.labels import LabelSpace
from eemkit.runtime import foreign_meta
from eemkit.runtime.trt_runner import TrtRunner

SHAPE = (3, 16, 16)


def fake_trt(version="10.3.0.30"):
    return SimpleNamespace(__version__=version, TensorIOMode=SimpleNamespace(INPUT="input", OUTPUT="output"),
                           nptype=np.dtype)


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
