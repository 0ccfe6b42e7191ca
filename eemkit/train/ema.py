"""An exponential moving average of the model's weights (Polyak averaging), evaluated and saved as
the run's model when `optim.ema` > 0."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightEMA:
    """ema = d * ema + (1 - d) * weights after every step, with d warmed up as min(decay, (1 + t) / (10 + t))
    so the first steps are not dominated by the random initialisation. Floating buffers (BatchNorm
    statistics) are averaged the same way; integer buffers are copied."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        src = model.state_dict()
        for k, v in self.model.state_dict().items():
            s = src[k].detach()
            if v.dtype.is_floating_point:
                v.mul_(d).add_(s.to(v.dtype), alpha=1.0 - d)
            else:
                v.copy_(s)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
