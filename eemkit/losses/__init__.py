"""Losses: AdaReg / Reg / center, CE / focal / LDAM, distillation, and the KTN / STSN objectives."""

from eemkit.losses.adareg import AdaRegLoss, CenterLoss
from eemkit.losses.classification import FocalLoss, LDAMLoss, cross_entropy
from eemkit.losses.distill import feature_mse, kl_teacher_student
from eemkit.losses.objectives import LOSSES, EEMObjective, LossConfig

__all__ = ["LOSSES", "AdaRegLoss", "CenterLoss", "EEMObjective", "FocalLoss", "LDAMLoss", "LossConfig",
           "cross_entropy", "feature_mse", "kl_teacher_student"]
