"""Backbone registry: torchvision classification networks cut at their pooled feature vector.

`create_backbone(name, small_stem=False, pretrained=False) -> (module, feature_dim)`; the module maps
(N, 3, H, W) to (N, feature_dim). `small_stem` removes the first stride-2 step (and the max-pool of
ResNet/ShuffleNet) for 48-112 px faces. `pretrained` loads torchvision's ImageNet weights only from
the local torch hub cache and fails with a clear message otherwise: nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
import torch
from torch import nn

from eemkit.errors import EemkitError, UsageError

# name -> (torchvision builder name, how to cut it)
BACKBONES: dict[str, str] = {
    "resnet18": "resnet",
    "resnet34": "resnet",
    "resnet50": "resnet",
    "mobilenet_v2": "mobilenet_v2",
    "mobilenet_v3_small": "mobilenet_v3",
    "mobilenet_v3_large": "mobilenet_v3",
    "shufflenet_v2_x0_5": "shufflenet",
    "shufflenet_v2_x1_0": "shufflenet",
    "shufflenet_v2_x1_5": "shufflenet",
    "shufflenet_v2_x2_0": "shufflenet",
    "squeezenet1_1": "squeezenet",
}


def _check_name(name: str) -> None:
    if name not in BACKBONES:
        raise UsageError(f"unknown backbone {name!r}; valid backbones: {', '.join(BACKBONES)}")


def _cached_weights(name: str):
    """torchvision's default weights for `name` if their file is in the local hub cache, else raise."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cache.is_file():
        raise EemkitError(
            f"--pretrained needs torchvision's {name} weights in the local cache ({cache}), and they are "
            "not there; eemkit never downloads at run time. Copy the file there, or train from scratch."
        )
    return weights


def _unstride(conv: nn.Conv2d) -> None:
    conv.stride = (1, 1)


def _cut(kind: str, m: nn.Module, small_stem: bool) -> tuple[nn.Module, int]:
    if kind == "resnet":
        dim = m.fc.in_features
        m.fc = nn.Identity()
        if small_stem:
            m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            m.maxpool = nn.Identity()
        return m, dim
    if kind in ("mobilenet_v2", "mobilenet_v3"):
        dim = m.classifier[0].in_features if kind == "mobilenet_v3" else m.classifier[-1].in_features
        m.classifier = nn.Identity()
        if small_stem:
            _unstride(m.features[0][0])
        return m, dim
    if kind == "shufflenet":
        dim = m.fc.in_features
        m.fc = nn.Identity()
        if small_stem:
            _unstride(m.conv1[0])
            m.maxpool = nn.Identity()
        return m, dim
    if kind == "squeezenet":
        dim = m.classifier[1].in_channels
        m.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        if small_stem:
            _unstride(m.features[0])
        return m, dim
    raise UsageError(f"no cut rule for backbone kind {kind}")


def create_backbone(name: str, small_stem: bool = False, pretrained: bool = False) -> tuple[nn.Module, int]:
    """Build backbone `name`; returns (module (N,3,H,W)->(N,D), D). Raises UsageError for an unknown name."""
    import torchvision

    _check_name(name)
    if pretrained:
        weights = _cached_weights(name)
        m = torchvision.models.get_model(name, weights=None)
        m.load_state_dict(weights.get_state_dict(progress=False, check_hash=False))
    else:
        m = torchvision.models.get_model(name, weights=None)
    return _cut(BACKBONES[name], m, small_stem)


def backbone_names() -> list[str]:
    return list(BACKBONES)
