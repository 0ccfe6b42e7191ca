"""AdaReg and Reg (METHOD.md, eq. 1-3): push the class representations apart.

Per mini-batch of size M with E_i samples of class i, alpha_i = 1 - E_i / M. Class centres e_i
(n_classes x dim) are running buffers moved towards the batch class means like center loss. Inside
the loss, a class present in the batch uses e_i - center_lr * (e_i - mean_i), where the batch mean
carries gradient; absent classes use the detached stored centre and alpha_i = 1.

    L_AdaReg = 1 / (lambda * sum_{i<j} alpha_i * ||e_i - e_j||_2 + eps)

with pairs taken in an order that puts neutral LAST, so neutral never weights a pair of its own.
L_Reg is the same with every alpha_i = 1. Under torch.distributed the batch sums and counts are
all-reduced, so every rank sees the global batch and the centres stay identical across ranks.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def _dist_ready() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() \
        and torch.distributed.get_world_size() > 1


class AdaRegLoss(nn.Module):
    """features (N, dim) float, labels (N,) long -> scalar loss.

    Args: n_classes, dim, order (class ids, neutral last), expansion (lambda, default 10),
    center_lr (default 0.5), adaptive (False gives Reg), eps.
    """

    def __init__(self, n_classes: int, dim: int, order: Sequence[int] | None = None, expansion: float = 10.0,
                 center_lr: float = 0.5, adaptive: bool = True, eps: float = 1e-6, seed: int = 0) -> None:
        super().__init__()
        self.n_classes, self.expansion, self.center_lr = n_classes, expansion, center_lr
        self.adaptive, self.eps = adaptive, eps
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("centers", torch.randn(n_classes, dim, generator=gen))
        order = list(order) if order is not None else list(range(n_classes))
        if sorted(order) != list(range(n_classes)):
            raise ValueError(f"order must be a permutation of 0..{n_classes - 1}, got {order}")
        self.register_buffer("order", torch.tensor(order, dtype=torch.long))
        iu = torch.triu_indices(n_classes, n_classes, offset=1)
        self.register_buffer("pair_i", iu[0], persistent=False)
        self.register_buffer("pair_j", iu[1], persistent=False)

    def batch_stats(self, features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Class means (carrying gradient for the local part), class counts and the global batch size."""
        sums = torch.zeros(self.n_classes, features.shape[1], dtype=features.dtype, device=features.device)
        sums = sums.index_add(0, labels, features)
        counts = torch.bincount(labels, minlength=self.n_classes).to(features.dtype)
        m = torch.tensor(float(labels.numel()), dtype=features.dtype, device=features.device)
        if _dist_ready():
            g_sums = sums.detach().clone()
            stats = torch.cat([counts, m.view(1)])
            torch.distributed.all_reduce(g_sums)
            torch.distributed.all_reduce(stats)
            sums = sums + (g_sums - sums.detach())  # global value, local gradient
            counts, m = stats[:-1], stats[-1]
        means = sums / counts.clamp(min=1).unsqueeze(1)
        return means, counts, m

    def moved_centers(self, features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        means, counts, m = self.batch_stats(features, labels)
        present = (counts > 0).unsqueeze(1)
        c = self.centers.detach()
        moved = torch.where(present, c - self.center_lr * (c - means), c)
        return moved, counts, m

    def alpha(self, counts: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """Importance alpha_i = 1 - E_i / M (1 for absent classes); all ones for Reg."""
        if not self.adaptive:
            return torch.ones_like(counts)
        return 1.0 - counts / m

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        e, counts, m = self.moved_centers(features, labels)
        alpha = self.alpha(counts, m)
        e_ord, a_ord = e[self.order], alpha[self.order]
        dist = (e_ord[self.pair_i] - e_ord[self.pair_j]).norm(dim=1)
        return 1.0 / (self.expansion * (a_ord[self.pair_i] * dist).sum() + self.eps)

    @torch.no_grad()
    def update_centers(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Commit the centre step for this batch (call after the optimiser step)."""
        moved, _, _ = self.moved_centers(features.detach(), labels)
        self.centers.copy_(moved)


class CenterLoss(nn.Module):
    """Center loss (Wen et al. 2016): 0.5 * mean_n ||f_n - c_{y_n}||^2; centres move at rate center_lr."""

    def __init__(self, n_classes: int, dim: int, center_lr: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        self.n_classes, self.center_lr = n_classes, center_lr
        self.register_buffer("centers", torch.randn(n_classes, dim, generator=torch.Generator().manual_seed(seed)))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return 0.5 * (features - self.centers[labels]).pow(2).sum(1).mean()

    @torch.no_grad()
    def update_centers(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        f = features.detach()
        sums = torch.zeros_like(self.centers).index_add(0, labels, f)
        counts = torch.bincount(labels, minlength=self.n_classes).to(f.dtype)
        if _dist_ready():
            torch.distributed.all_reduce(sums)
            torch.distributed.all_reduce(counts)
        present = counts > 0
        delta = self.centers * counts.unsqueeze(1) - sums
        self.centers[present] -= self.center_lr * delta[present] / (1 + counts[present]).unsqueeze(1)
