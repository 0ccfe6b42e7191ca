"""Classification losses: cross-entropy (hard or soft targets), focal loss, LDAM."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """CE for logits (N, K) and either class ids (N,) or probability targets (N, K), with optional
    label smoothing (targets mixed with the uniform distribution by `smoothing`)."""
    if target.dtype.is_floating_point:
        if smoothing:
            target = target * (1 - smoothing) + smoothing / logits.shape[1]
        return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    return F.cross_entropy(logits, target, label_smoothing=smoothing)


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017): mean_n -(1 - p_t)^gamma log p_t. logits (N, K), target (N,)."""

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        return (-(1 - logp.exp()).pow(self.gamma) * logp).mean()


class LDAMLoss(nn.Module):
    """LDAM (Cao et al. 2019): CE on s * (logits - m_y * onehot), m_c proportional to n_c^(-1/4),
    the largest margin being max_m. logits (N, K), target (N,)."""

    def __init__(self, class_counts: Sequence[int], max_m: float = 0.5, s: float = 30.0) -> None:
        super().__init__()
        counts = torch.tensor([max(int(c), 1) for c in class_counts], dtype=torch.float32)
        m = 1.0 / counts.pow(0.25)
        self.register_buffer("margins", m * (max_m / m.max()))
        self.s = s

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        shifted = logits - F.one_hot(target, logits.shape[1]).to(logits.dtype) * self.margins[target].unsqueeze(1)
        return F.cross_entropy(self.s * shifted, target)
