"""Distillation terms of the STSN objective (METHOD.md eq. 5-7).

L_D = MSE(V^a_S, V^a_T) + KL(softmax(V^c_T) || softmax(V^c_S))
L_S = KL(softmax(V^f_T) || softmax(V^f_S))
With a temperature T the softmaxes use logits / T and the KL terms are multiplied by T^2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_teacher_student(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(softmax(t/T) || softmax(s/T)) * T^2, averaged over the batch. Inputs (N, K)."""
    t = temperature
    log_s = F.log_softmax(student_logits / t, dim=1)
    log_t = F.log_softmax(teacher_logits.detach() / t, dim=1)
    return F.kl_div(log_s, log_t, log_target=True, reduction="batchmean") * (t * t)


def feature_mse(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Mean squared error between V^a of student and (detached) teacher, (N, D) each."""
    return F.mse_loss(student_features, teacher_features.detach())
