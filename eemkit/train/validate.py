"""The training loop's validation pass: logits of a PyTorch model on prepared images, and their metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from eemkit.data.datasets import ImageSet
from eemkit.data.preprocess import PreprocessSpec, eval_input
from eemkit.labels import LabelSpace
from eemkit.metrics import classification_metrics
from eemkit.priors import PriorShift

if TYPE_CHECKING:
    import torch


def torch_logits(model: torch.nn.Module, images: np.ndarray, spec: PreprocessSpec, batch: int = 256,
                 channels_last: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fine and coarse logits (N, n_fine), (N, 4) of `model` on prepared uint8 images (N, R, R, C)."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    fine, coarse = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(eval_input(images[i:i + batch], spec)).to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out = model(x)
            fine.append(out["fine_logits"].float().cpu().numpy())
            coarse.append(out["coarse_logits"].float().cpu().numpy())
    return np.concatenate(fine), np.concatenate(coarse)


def evaluate_imageset(model: torch.nn.Module, data: ImageSet, labels: LabelSpace, batch: int = 256,
                      shift: PriorShift | None = None) -> dict:
    """classification_metrics of `model` on `data`; `shift` moves the logits to an operating point first
    (the train point of a model trained with logit adjustment, as every runtime scores it)."""
    fine, coarse = torch_logits(model, data.images, data.spec, batch)
    if shift is not None:
        out = shift.apply({"fine_logits": fine, "coarse_logits": coarse})
        fine, coarse = out["fine_logits"], out["coarse_logits"]
    return classification_metrics(data.fine, fine, labels.fine, coarse, labels.coarse_index, labels.coarse)
