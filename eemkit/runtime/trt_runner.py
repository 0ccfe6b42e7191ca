"""TensorRT engine runner (TensorRT 10/11 tensor-name API), with torch CUDA tensors as I/O buffers.

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


class CudaBuffers:
    """Device memory as torch CUDA tensors, all on torch's current stream (so copies, allocations and
    the engine run are ordered on one stream)."""

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
        self._bind(trt, engine, engine.create_execution_context(), CudaBuffers())

    def _bind(self, trt, engine, context, buffers) -> None:
        """Read I/O names, dtypes and the profile's batch range from `engine`; `buffers` moves arrays to
        and from the device (CudaBuffers, or a host stand-in in tests)."""
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
        host = {k: self.buffers.to_host(v) for k, v in bufs.items()}
        return logits_by_name(host, self.outputs)


def logits_by_name(outs: dict[str, np.ndarray], order: list[str]) -> dict[str, np.ndarray]:
    """{"fine_logits", "coarse_logits"} as float32: by name, or for a foreign model the first two outputs."""
    if "fine_logits" in outs:
        fine, coarse = outs["fine_logits"], outs.get("coarse_logits", outs["fine_logits"])
    else:
        fine = outs[order[0]]
        coarse = outs[order[1]] if len(order) > 1 else fine
    return {"fine_logits": np.asarray(fine, np.float32), "coarse_logits": np.asarray(coarse, np.float32)}
