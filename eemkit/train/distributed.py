"""torch.distributed set-up for `torchrun ... -m eemkit train ...` (NCCL on GPUs, gloo on CPU).

Without torchrun (no WORLD_SIZE > 1 in the environment) everything is a no-op on one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from eemkit.errors import EemkitError


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def sum_tensor(self, t: torch.Tensor) -> torch.Tensor:
        if self.active:
            t = t.to(self.device)
            torch.distributed.all_reduce(t)
        return t.cpu()

    def check_buffers_equal(self, module: torch.nn.Module) -> None:
        """Raise if the loss buffers (AdaReg centres) differ between ranks: they must stay identical."""
        if not self.active:
            return
        for name, buf in module.named_buffers():
            if not buf.is_floating_point():
                continue
            lo, hi = buf.detach().clone(), buf.detach().clone()
            torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
            torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
            if not torch.allclose(lo, hi, atol=1e-5, rtol=1e-5):
                raise EemkitError(f"loss buffer {name} differs across ranks; distributed statistics are broken")

    def close(self) -> None:
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def setup_distributed(device: str = "auto") -> DistContext:
    """One process: the requested device. Under torchrun: one rank per process, a GPU each when CUDA exists."""
    if device not in ("auto", "cpu", "cuda"):
        raise EemkitError(f"device must be auto, cpu or cuda, not {device!r}", code=2)
    if device == "cuda" and not torch.cuda.is_available():
        raise EemkitError("--device cuda asked for, but no CUDA GPU is visible", code=2)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        return DistContext(device=torch.device("cuda" if use_cuda else "cpu"))
    rank = int(os.environ["RANK"])
    if torch.cuda.is_available() and device != "cpu":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend)
    return DistContext(rank=rank, world=world, device=device)
