"""The training objectives: KTN (eq. 4) and STSN (eq. 8), with the ablation switches.

KTN:  lambda_f * CLS(V^f, y) + lambda_A * REG(V^a, y) + lambda_c * CE(V^c, y_coarse)
STSN: L_D + L_S + lambda_1 * CLS(V^f_S, y) + lambda_2 * CE(V^c_S, y_coarse)   [+ lambda_A * REG]

CLS is CE (hard or soft targets), focal or LDAM; REG is none, Reg, AdaReg or center loss, chosen
together by `loss` in {ce, reg, adareg, center, focal, ldam}.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
from torch import nn

from eemkit.errors import UsageError
from eemkit.labels import LabelSpace
from eemkit.losses.adareg import AdaRegLoss, CenterLoss
from eemkit.losses.classification import FocalLoss, LDAMLoss, cross_entropy
from eemkit.losses.distill import feature_mse, kl_teacher_student

LOSSES = ("ce", "reg", "adareg", "center", "focal", "ldam")


@dataclass(frozen=True)
class LossConfig:
    """Loss choice and weights; defaults are the paper's (METHOD.md)."""

    loss: str = "adareg"
    lambda_f: float = 5.0
    lambda_c: float = 3.0
    lambda_a: float = 0.01
    expansion: float = 10.0
    center_lr: float = 0.5
    lambda1: float = 3.0
    lambda2: float = 1.0
    distill: bool = True
    temperature: float = 1.0
    focal_gamma: float = 2.0
    ldam_max_m: float = 0.5
    ldam_s: float = 30.0
    label_smoothing: float = 0.0
    # logit adjustment (Menon et al. 2021): train on logits + tau * log(class prior), so the raw logits
    # carry (1 - tau) of the training prior; the artifact records tau for --class-prior
    logit_adjust: float = 0.0
    # distillation targets: "cached" = the frozen teacher's outputs on the un-augmented training images
    # (and their mirrors), computed once before training; "online" = the teacher run on every augmented batch
    # (a checkpoint in PyTorch; an exported ONNX/engine teacher in its runtime, e.g. INT8 ONNX Runtime)
    teacher_outputs: str = "cached"
    # average the teacher's outputs over the face and its mirror (test-time flip averaging of the teacher)
    teacher_mirror: bool = False

    def __post_init__(self) -> None:
        for name in ("lambda_f", "lambda_c", "lambda_a", "lambda1", "lambda2"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UsageError(f"loss.{name} must be a finite number >= 0, got {value!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise UsageError(f"loss.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.logit_adjust <= 2.0:
            raise UsageError(f"loss.logit_adjust must be in [0, 2], got {self.logit_adjust}")
        if self.teacher_outputs not in ("cached", "online"):
            raise UsageError(f"loss.teacher_outputs must be 'cached' or 'online', got {self.teacher_outputs!r}")
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r}; valid losses: {', '.join(LOSSES)}")
        if self.temperature <= 0:
            raise UsageError(f"temperature must be positive, got {self.temperature}")

    def to_dict(self) -> dict:
        return asdict(self)


class EEMObjective(nn.Module):
    """Computes the loss of one batch and its named parts.

    forward(out, target, teacher_out=None) -> dict with "loss" and parts; `out` is the model's dict,
    target is (N,) class ids or (N, n_fine) probabilities. Call `after_step(out, target)` after the
    optimiser step to move the running centres (AdaReg / Reg / center loss).
    """

    def __init__(self, cfg: LossConfig, stage: str, labels: LabelSpace, class_counts: Sequence[int],
                 dim: int = 256, use_coarse: bool = True, seed: int = 0, class_prior: Sequence[float] | None = None) -> None:
        super().__init__()
        if stage not in ("teacher", "student"):
            raise UsageError(f"stage must be 'teacher' or 'student', got {stage!r}")
        self.cfg, self.stage, self.use_coarse = cfg, stage, use_coarse
        group = torch.zeros(labels.n_fine, labels.n_coarse)
        for i, c in enumerate(labels.coarse_index):
            group[i, c] = 1.0
        self.register_buffer("group", group, persistent=False)
        self.register_buffer("coarse_of", torch.tensor(labels.coarse_index, dtype=torch.long), persistent=False)
        # the prior of logit adjustment: the label marginal trained on (class frequencies by default)
        prior = torch.tensor(list(class_prior) if class_prior is not None else [max(int(c), 1) for c in class_counts],
                             dtype=torch.float32)
        prior = prior / prior.sum()
        self.register_buffer("log_prior", prior.log(), persistent=False)
        self.register_buffer("log_prior_coarse", (prior @ group).log(), persistent=False)
        self.cls: nn.Module | None = None
        if cfg.loss == "focal":
            self.cls = FocalLoss(cfg.focal_gamma)
        elif cfg.loss == "ldam":
            self.cls = LDAMLoss(class_counts, cfg.ldam_max_m, cfg.ldam_s)
        self.reg: nn.Module | None = None
        if cfg.loss in ("reg", "adareg"):
            self.reg = AdaRegLoss(labels.n_fine, dim, labels.neutral_last_order, cfg.expansion, cfg.center_lr,
                                  adaptive=cfg.loss == "adareg", seed=seed)
        elif cfg.loss == "center":
            self.reg = CenterLoss(labels.n_fine, dim, cfg.center_lr, seed=seed)

    def _hard(self, target: torch.Tensor) -> torch.Tensor:
        return target.argmax(1) if target.dtype.is_floating_point else target

    def _coarse_target(self, target: torch.Tensor) -> torch.Tensor:
        return target @ self.group if target.dtype.is_floating_point else self.coarse_of[target]

    def _classify(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.cls is None:
            logits = logits + self.cfg.logit_adjust * self.log_prior if self.cfg.logit_adjust else logits
            return cross_entropy(logits, target, self.cfg.label_smoothing)
        if target.dtype.is_floating_point:
            raise UsageError(f"loss {self.cfg.loss!r} needs hard labels; use --label-mode majority or argmax")
        return self.cls(logits, target)

    def forward(self, out: dict[str, torch.Tensor], target: torch.Tensor,
                teacher_out: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        parts: dict[str, torch.Tensor] = {}
        cls = self._classify(out["fine_logits"], target)
        coarse = cls.new_zeros(())
        if self.use_coarse:
            c_logits = out["coarse_logits"] + cfg.logit_adjust * self.log_prior_coarse if cfg.logit_adjust else out["coarse_logits"]
            coarse = cross_entropy(c_logits, self._coarse_target(target), cfg.label_smoothing)
        reg = self.reg(out["features"], self._hard(target)) if self.reg is not None else cls.new_zeros(())
        if self.stage == "teacher":
            loss = cfg.lambda_f * cls + cfg.lambda_a * reg + cfg.lambda_c * coarse
        else:
            loss = cfg.lambda1 * cls + cfg.lambda2 * coarse + cfg.lambda_a * reg
            if cfg.distill:
                if teacher_out is None:
                    raise UsageError("distillation needs a teacher; pass --teacher CKPT or --no-distill")
                t = cfg.temperature
                if "features" in teacher_out:  # an exported teacher (ONNX) gives logits only
                    parts["distill_feat"] = feature_mse(out["features"], teacher_out["features"])
                parts["distill_coarse"] = kl_teacher_student(out["coarse_logits"], teacher_out["coarse_logits"], t)
                parts["distill_fine"] = kl_teacher_student(out["fine_logits"], teacher_out["fine_logits"], t)
                loss = loss + parts.get("distill_feat", 0.0) + parts["distill_coarse"] + parts["distill_fine"]
        parts.update({"loss": loss, "cls_fine": cls.detach(), "ce_coarse": coarse.detach(), "reg": reg.detach()})
        for k in ("distill_feat", "distill_coarse", "distill_fine"):
            if k in parts:
                parts[k] = parts[k].detach()
        return parts

    @torch.no_grad()
    def after_step(self, out: dict[str, torch.Tensor], target: torch.Tensor) -> None:
        if self.reg is not None:
            self.reg.update_centers(out["features"], self._hard(target))
