"""The two-stream networks of the paper (Table I): KTN (teacher, two backbones) and STSN (student,
one shared backbone), with the same two-stream head.

fine stream:   a_f = FC1-1(f)  (256)  -> z_f = FC1-2(a_f) (n_fine)
coarse stream: a_c = FC2-1(f') (256)  -> V^c = FC2-2(a_c) (4) -> z_c = FC2-3(V^c) (n_fine)
V^a = (a_f + a_c) / 2 (the expression representation), V^f = (z_f + z_c) / 2 (the fine logits).

With `use_coarse=False` (the "no C-F labels" ablation) only the fine stream exists: V^f = z_f,
V^a = a_f, and the coarse logits are log Σ_{fine in group} softmax(V^f), so deployment still gets both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from eemkit.labels import LabelSpace
from eemkit.models.backbones import create_backbone


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network (stored in checkpoints).

    kind: "teacher" (two backbones, KTN) or "student" (one shared backbone, STSN).
    """

    kind: str = "student"
    backbone: str = "resnet18"
    small_stem: bool = False
    hidden: int = 256
    head_act: str = "relu"  # "relu" or "none": the non-linearity after FC1-1 / FC2-1
    dropout: float = 0.0
    use_coarse: bool = True
    n_fine: int = 8
    n_coarse: int = 4
    coarse_index: tuple[int, ...] = (2, 0, 3, 1, 1, 1, 1, 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["coarse_index"] = list(self.coarse_index)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        d = dict(d)
        d["coarse_index"] = tuple(d["coarse_index"])
        return cls(**d)

    @classmethod
    def for_labels(cls, labels: LabelSpace, **kw) -> "ModelSpec":
        return cls(n_fine=labels.n_fine, n_coarse=labels.n_coarse, coarse_index=labels.coarse_index, **kw)


def _mlp_in(in_dim: int, hidden: int, act: str, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden)]
    if act == "relu":
        layers.append(nn.ReLU(inplace=False))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class TwoStreamHead(nn.Module):
    """FC heads of both streams. Inputs f, f' (N, D); outputs dict of V^f (N, n_fine), V^c (N, 4),
    V^a (N, hidden) and the per-stream logits z_f, z_c."""

    def __init__(self, in_dim: int, spec: ModelSpec) -> None:
        super().__init__()
        self.use_coarse = spec.use_coarse
        self.fc1_1 = _mlp_in(in_dim, spec.hidden, spec.head_act, spec.dropout)
        self.fc1_2 = nn.Linear(spec.hidden, spec.n_fine)
        if spec.use_coarse:
            self.fc2_1 = _mlp_in(in_dim, spec.hidden, spec.head_act, spec.dropout)
            self.fc2_2 = nn.Linear(spec.hidden, spec.n_coarse)
            self.fc2_3 = nn.Linear(spec.n_coarse, spec.n_fine)  # no non-linearity: V^c stays the coarse logits
        group = torch.zeros(spec.n_coarse, spec.n_fine)
        for i, c in enumerate(spec.coarse_index):
            group[c, i] = 1.0
        self.register_buffer("group", group, persistent=False)

    def forward(self, f: torch.Tensor, f2: torch.Tensor) -> dict[str, torch.Tensor]:
        a_f = self.fc1_1(f)
        z_f = self.fc1_2(a_f)
        if not self.use_coarse:
            # coarse logits from the fine distribution: log of the summed probabilities of each group
            logp = torch.log_softmax(z_f, dim=1)
            v_c = torch.logsumexp(logp.unsqueeze(1) + torch.log(self.group).unsqueeze(0), dim=2)
            return {"fine_logits": z_f, "coarse_logits": v_c, "features": a_f, "z_f": z_f, "z_c": z_f}
        a_c = self.fc2_1(f2)
        v_c = self.fc2_2(a_c)
        z_c = self.fc2_3(v_c)
        return {"fine_logits": (z_f + z_c) / 2, "coarse_logits": v_c, "features": (a_f + a_c) / 2, "z_f": z_f, "z_c": z_c}


class EEMNet(nn.Module):
    """KTN (kind="teacher": separate backbones for the two streams) or STSN (kind="student": one
    shared backbone). Input (N, 3, S, S) float, output dict from TwoStreamHead."""

    def __init__(self, spec: ModelSpec, pretrained: bool = False) -> None:
        super().__init__()
        self.spec = spec
        self.backbone, dim = create_backbone(spec.backbone, spec.small_stem, pretrained)
        self.backbone2 = None
        if spec.kind == "teacher" and spec.use_coarse:
            self.backbone2, _ = create_backbone(spec.backbone, spec.small_stem, pretrained)
        self.head = TwoStreamHead(dim, spec)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.backbone(x)
        f2 = self.backbone2(x) if self.backbone2 is not None else f
        return self.head(f, f2)


class ExportWrapper(nn.Module):
    """What export traces: returns (fine_logits, coarse_logits[, fine_probs, coarse_probs]).

    With uint8_input the graph takes uint8 NHWC at input_size and normalises inside
    (x/255 - mean)/std, replicating greyscale to 3 channels. With mirror the logits are the mean of the
    image's and its horizontal mirror's (one pass over a batch of 2N).
    """

    def __init__(self, net: EEMNet, probs: bool = False, uint8_input: bool = False,
                 mean: tuple = (0.0, 0.0, 0.0), std: tuple = (1.0, 1.0, 1.0), channels: int = 3, mirror: bool = False) -> None:
        super().__init__()
        self.net, self.probs, self.uint8_input, self.channels, self.mirror = net, probs, uint8_input, channels, mirror
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor):
        if self.uint8_input:
            x = x.permute(0, 3, 1, 2).float() / 255.0
            if self.channels == 1:
                x = x.expand(-1, 3, -1, -1)
            x = (x - self.mean) / self.std
        fine, coarse = mirror_average(self.net, x) if self.mirror else logits_of(self.net(x))
        if self.probs:
            return fine, coarse, torch.softmax(fine, 1), torch.softmax(coarse, 1)
        return fine, coarse


def logits_of(out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return out["fine_logits"], out["coarse_logits"]


def mirror_average(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fine and coarse logits averaged over x (N, 3, S, S) and its horizontal mirror, in one batch of 2N."""
    n = x.shape[0]
    fine, coarse = logits_of(net(torch.cat([x, x.flip(3)], 0)))
    return (fine[:n] + fine[n:]) / 2, (coarse[:n] + coarse[n:]) / 2
