"""TensorRT engine runner (TensorRT 10/11 tensor-name API). I/O buffers come from cuda-python's runtime
API (no torch needed: the device install), or from torch CUDA tensors where only torch is installed.

The engine's optimisation profile bounds the batch: larger batches are split into chunks of the
profile's maximum, and a shape the engine refuses raises instead of running on a stale shape. Buffers
take the dtype the engine declares for each tensor."""

from __future__ import annotations

import numpy as np

from eemkit.errors import EemkitError, UsageError
from eemkit.runtime.base import Runner


def profile_batch_range(engine, name: str, profile: int = 0) -> tuple[int, int]:
    """(min, max) batch the engine takes for input `name`: its fixed batch, or its profile's bounds."""
    shape = tuple(engine.get_tensor_shape(name))
    if shape and shape[0] >= 0:
        return int(shape[0]), int(shape[0])
    lo, _, hi = engine.get_tensor_profile_shape(name, profile)
    return int(lo[0]), int(hi[0])


class DeviceArray:
    """A raw device allocation with the shape and dtype of the array it holds."""

    def __init__(self, ptr: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.ptr, self.shape, self.dtype = int(ptr), tuple(shape), np.dtype(dtype)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


class CudaPythonBuffers:
    """Device memory from cuda-python (cudaMalloc / cudaMemcpyAsync on one stream of our own): the
    torch-free path. Allocations of a run are freed by `release`."""

    def __init__(self) -> None:
        from eemkit.export.tensorrt import cudart_module

        self.rt = cudart_module()
        self.stream = self._ok(self.rt.cudaStreamCreate(), "cudaStreamCreate")
        self._live: list[DeviceArray] = []

    def _ok(self, res, what: str):
        err, *vals = res if isinstance(res, tuple) else (res,)
        if err != self.rt.cudaError_t.cudaSuccess:
            raise EemkitError(f"CUDA {what} failed: {err}")
        return vals[0] if vals else None

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> DeviceArray:
        buf = DeviceArray(0, shape, dtype)
        buf.ptr = int(self._ok(self.rt.cudaMalloc(max(buf.nbytes, 1)), "cudaMalloc"))
        self._live.append(buf)
        return buf

    def to_device(self, x: np.ndarray) -> DeviceArray:
        x = np.ascontiguousarray(x)
        buf = self.empty(x.shape, x.dtype)
        self._ok(self.rt.cudaMemcpyAsync(buf.ptr, x.ctypes.data, x.nbytes,
                                         self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream), "cudaMemcpyAsync")
        return buf

    def address(self, buf: DeviceArray) -> int:
        return buf.ptr

    def execute(self, context) -> bool:
        ok = context.execute_async_v3(int(self.stream))
        self._ok(self.rt.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
        return bool(ok)

    def to_host(self, buf: DeviceArray) -> np.ndarray:
        out = np.empty(buf.shape, buf.dtype)
        self._ok(self.rt.cudaMemcpyAsync(out.ctypes.data, buf.ptr, buf.nbytes,
                                         self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream), "cudaMemcpyAsync")
        self._ok(self.rt.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
        return out

    def release(self) -> None:
        for buf in self._live:
            self.rt.cudaFree(buf.ptr)
        self._live = []


class TorchCudaBuffers:
    """Device memory as torch CUDA tensors, all on torch's current stream (so copies, allocations and
    the engine run are ordered on one stream): the fallback where cuda-python is not installed."""

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def to_device(self, x: np.ndarray):
        return self.torch.from_numpy(x).cuda()

    def empty(self, shape: tuple[int, ...], dtype: np.dtype):
        torch_dtype = self.torch.from_numpy(np.empty(0, dtype)).dtype
        return self.torch.empty(shape, dtype=torch_dtype, device="cuda")

    def address(self, buf) -> int:
        return int(buf.data_ptr())

    def execute(self, context) -> bool:
        stream = self.torch.cuda.current_stream()
        ok = context.execute_async_v3(stream.cuda_stream)
        stream.synchronize()
        return bool(ok)

    def to_host(self, buf) -> np.ndarray:
        return buf.cpu().numpy()

    def release(self) -> None:
        pass  # torch's caching allocator frees the tensors


def cuda_buffers():
    """cuda-python buffers, else torch's; EemkitError saying what to install when neither is here."""
    from eemkit.export.tensorrt import cudart_module

    try:
        cudart_module()
    except ImportError:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise EemkitError("running a TensorRT engine needs cuda-python for its buffers: pip install cuda-python "
                              "(or a CUDA build of PyTorch)") from None
        return TorchCudaBuffers()
    return CudaPythonBuffers()


class TrtRunner(Runner):
    name = "tensorrt"

    def _activate(self) -> None:
        from eemkit.export.tensorrt import require_tensorrt

        trt = require_tensorrt()
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if engine is None:
            raise EemkitError(f"TensorRT cannot load {self.path}: built for another TensorRT version or GPU? Rebuild it here")
        self._bind(trt, engine, engine.create_execution_context(), cuda_buffers())

    def _bind(self, trt, engine, context, buffers) -> None:
        """Read I/O names, dtypes and the profile's batch range from `engine`; `buffers` moves arrays to
        and from the device (cuda_buffers(), or a host stand-in in tests)."""
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self.inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(self.inputs) != 1:
            raise EemkitError(f"{self.path.name} has {len(self.inputs)} inputs; eemkit runs engines with exactly one")
        self.in_dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(self.inputs[0])))
        self.out_dtypes = {n: np.dtype(trt.nptype(engine.get_tensor_dtype(n))) for n in self.outputs}
        self.min_batch, self.max_batch = profile_batch_range(engine, self.inputs[0])
        self.engine, self.context, self.buffers = engine, context, buffers

    def _deactivate(self) -> None:
        self.context = self.engine = self._runtime = None

    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run any batch size: chunks of at most the profile's max batch, outputs concatenated."""
        x = self._as_input(x)
        step = self.max_batch
        parts = [self._run(x[i:i + step]) for i in range(0, len(x), step)]
        if len(parts) == 1:
            return parts[0]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _as_input(self, x: np.ndarray) -> np.ndarray:
        if x.dtype == self.in_dtype:
            return np.ascontiguousarray(x)
        if x.dtype.kind == "f" and self.in_dtype.kind == "f":
            return np.ascontiguousarray(x, dtype=self.in_dtype)  # float32 to an FP16-input engine
        raise UsageError(f"{self.path.name} takes {self.in_dtype} input, got {x.dtype}")

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        name = self.inputs[0]
        if not self.context.set_input_shape(name, tuple(x.shape)):
            raise EemkitError(f"TensorRT refused input shape {tuple(x.shape)} for {name} of {self.path.name}: its "
                              f"profile takes batch {self.min_batch}..{self.max_batch} of the shape it was built for")
        try:
            host = self._execute(name, x)
        finally:
            self.buffers.release()
        return logits_by_name(host, self.outputs)

    def _execute(self, name: str, x: np.ndarray) -> dict[str, np.ndarray]:
        inp = self.buffers.to_device(x)
        self.context.set_tensor_address(name, self.buffers.address(inp))
        bufs = {}
        for out in self.outputs:
            shape = tuple(int(d) for d in self.context.get_tensor_shape(out))
            if any(d < 0 for d in shape):
                raise EemkitError(f"TensorRT left output {out} of {self.path.name} with an unresolved shape {shape}")
            bufs[out] = self.buffers.empty(shape, self.out_dtypes[out])
            self.context.set_tensor_address(out, self.buffers.address(bufs[out]))
        if not self.buffers.execute(self.context):
            raise EemkitError(f"TensorRT execution of {self.path.name} failed")
        return {k: self.buffers.to_host(v) for k, v in bufs.items()}


def logits_by_name(outs: dict[str, np.ndarray], order: list[str]) -> dict[str, np.ndarray]:
    """{"fine_logits", "coarse_logits"} as float32: by name, or for a foreign model the first two outputs."""
    if "fine_logits" in outs:
        fine, coarse = outs["fine_logits"], outs.get("coarse_logits", outs["fine_logits"])
    else:
        fine = outs[order[0]]
        coarse = outs[order[1]] if len(order) > 1 else fine
    return {"fine_logits": np.asarray(fine, np.float32), "coarse_logits": np.asarray(coarse, np.float32)}
