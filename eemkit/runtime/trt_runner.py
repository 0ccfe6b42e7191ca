"""TensorRT engine runner (TensorRT 10/11 tensor-name API), with torch CUDA tensors as I/O buffers."""

from __future__ import annotations

import numpy as np

from eemkit.errors import EemkitError
from eemkit.runtime.base import Runner


class TrtRunner(Runner):
    name = "tensorrt"

    def _activate(self) -> None:
        import torch

        from eemkit.export.tensorrt import require_tensorrt

        trt = require_tensorrt()
        self._torch = torch
        logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(logger)
        self.engine = self.runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise EemkitError(f"TensorRT cannot load {self.path}: built for another TensorRT version or GPU? Rebuild it here")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.stream = torch.cuda.Stream()

    def _deactivate(self) -> None:
        self.context = self.engine = self.runtime = None

    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        inp = torch.from_numpy(np.ascontiguousarray(x)).cuda()
        self.context.set_input_shape(self.inputs[0], tuple(inp.shape))
        self.context.set_tensor_address(self.inputs[0], inp.data_ptr())
        outs = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            t = torch.empty(shape, dtype=torch.float32, device="cuda")
            self.context.set_tensor_address(name, t.data_ptr())
            outs[name] = t
        with torch.cuda.stream(self.stream):
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise EemkitError(f"TensorRT execution of {self.path.name} failed")
        self.stream.synchronize()
        return {k: v.cpu().numpy() for k, v in outs.items() if k in ("fine_logits", "coarse_logits")}
