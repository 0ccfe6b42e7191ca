"""PyTorch eager runner for eemkit checkpoints."""

from __future__ import annotations

import numpy as np
import torch

from eemkit.artifact import Checkpoint
from eemkit.runtime.base import Runner


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, path, device: str = "cpu", threads: int | None = None, mirror: bool = False,
                 checkpoint: Checkpoint | None = None) -> None:
        """mirror: average the logits of each image and its mirror (as an export with --mirror-average).
        checkpoint: the already loaded `path` (not read again)."""
        self.checkpoint = checkpoint or Checkpoint.load(path)
        super().__init__(path, self.checkpoint.meta(mirror=mirror))
        self.device, self.threads, self.mirror = torch.device(device), threads, mirror
        self.model = None

    def _activate(self) -> None:
        from eemkit.models import build_model

        if self.threads:
            torch.set_num_threads(self.threads)
        self.model = build_model(self.checkpoint).to(self.device)

    def _deactivate(self) -> None:
        self.model = None

    @torch.no_grad()
    def infer(self, x: np.ndarray) -> dict[str, np.ndarray]:
        from eemkit.models.eem import logits_of, mirror_average

        x_t = torch.from_numpy(np.ascontiguousarray(x)).to(self.device)
        fine, coarse = mirror_average(self.model, x_t) if self.mirror else logits_of(self.model(x_t))
        return {"fine_logits": fine.float().cpu().numpy(), "coarse_logits": coarse.float().cpu().numpy()}

    def parameter_count(self) -> int:
        return sum(int(v.numel()) for k, v in self.checkpoint.state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
