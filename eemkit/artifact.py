"""Typed artifacts, on the floor just above labels: a training checkpoint (`Checkpoint`, loaded once and
validated) and the metadata every exported model carries (`ArtifactMeta`).

Reading metadata needs nothing but the standard library; reading a checkpoint needs torch, imported only
when one is loaded, so the runtime path (preprocess, runners, predict, demo) stays torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from eemkit.errors import UsageError
from eemkit.labels import LabelSpace

CHECKPOINT_FORMAT = "eemkit-checkpoint"
INPUT_KINDS = ("float_nchw", "uint8_nhwc")
PRECISIONS = ("fp32", "fp16", "int8", "unknown")
_REQUIRED_CKPT = ("model_spec", "labels", "preprocess", "model")


@dataclass(frozen=True)
class ArtifactMeta:
    """What an exported model says about itself: classes, preprocessing, input kind, precision, where it came
    from and its operating point. `extra` keeps every other key (outputs, model_spec, stage, versions)."""

    classes: tuple[str, ...]
    coarse_classes: tuple[str, ...]
    preprocess: dict
    coarse_index: tuple[int, ...] | None = None
    input: str = "float_nchw"
    precision: str = "fp32"
    quantization: dict | None = None
    checkpoint_sha256: str | None = None
    class_prior: tuple[float, ...] | None = None
    logit_adjust: float = 0.0
    mirror_average: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Any, where: str | Path = "the metadata") -> "ArtifactMeta":
        """Validate a metadata mapping; raises UsageError naming the bad key and `where` it came from."""
        if not isinstance(d, dict):
            raise UsageError(f"the eemkit metadata of {where} is not a mapping; re-export the model with `eemkit export`")
        for key in ("classes", "coarse_classes", "preprocess"):
            if key not in d:
                raise UsageError(f"the eemkit metadata of {where} lacks {key!r}; re-export the model with `eemkit export`")
        names = {f.name for f in fields(cls)} - {"extra"}

        def get(key: str, conv: Callable[[Any], Any], default: Any = None) -> Any:
            v = d.get(key)
            if v is None:
                return default
            try:
                return conv(v)
            except (TypeError, ValueError) as err:
                raise UsageError(f"the eemkit metadata of {where} has a malformed {key!r} ({err}); re-export the model "
                                 "with `eemkit export`") from None

        meta = cls(classes=get("classes", _strs), coarse_classes=get("coarse_classes", _strs),
                   preprocess=get("preprocess", _mapping), coarse_index=get("coarse_index", _ints),
                   input=get("input", str, "float_nchw"), precision=get("precision", str, "fp32"),
                   quantization=get("quantization", _mapping),
                   checkpoint_sha256=get("checkpoint_sha256", str), class_prior=get("class_prior", _floats),
                   logit_adjust=get("logit_adjust", float, 0.0), mirror_average=get("mirror_average", bool, False),
                   extra={k: v for k, v in d.items() if k not in names})
        if meta.input not in INPUT_KINDS:
            raise UsageError(f"the eemkit metadata of {where} has input {meta.input!r}; expected one of: {', '.join(INPUT_KINDS)}")
        return meta

    def to_dict(self) -> dict:
        """The JSON form (as embedded in ONNX models and written beside engines)."""
        d = dict(self.extra)
        d.update(classes=list(self.classes), coarse_classes=list(self.coarse_classes), preprocess=dict(self.preprocess),
                 input=self.input, precision=self.precision, logit_adjust=self.logit_adjust,
                 mirror_average=self.mirror_average)
        for key in ("coarse_index", "class_prior"):
            if getattr(self, key) is not None:
                d[key] = list(getattr(self, key))
        for key in ("quantization", "checkpoint_sha256"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d

    @property
    def labels(self) -> LabelSpace:
        return LabelSpace(self.classes, self.coarse_classes)


def _mapping(v: Any) -> dict:
    if not isinstance(v, dict):
        raise TypeError("not a mapping")
    return dict(v)


def _strs(v: Any) -> tuple[str, ...]:
    return tuple(str(c) for c in v)


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in v)


def _floats(v: Any) -> tuple[float, ...]:
    return tuple(float(p) for p in v)


@dataclass(frozen=True)
class Checkpoint:
    """An eemkit checkpoint, loaded once: what rebuilds and deploys the model (model_spec, labels, preprocess,
    state = the weights, config, class_prior, stage) and, in `payload`, everything a resume needs."""

    path: Path
    model_spec: dict
    labels: dict
    preprocess: dict
    state: dict
    config: dict
    class_prior: list | None
    stage: str | None
    payload: dict

    @classmethod
    def load(cls, path: str | Path) -> "Checkpoint":
        """Load and validate; raises UsageError naming the file when it is missing, corrupt, not an eemkit
        checkpoint or incomplete."""
        return cls.from_payload(read_checkpoint_payload(path), path)

    @classmethod
    def from_payload(cls, d: dict[str, Any], path: str | Path = "<memory>") -> "Checkpoint":
        """A checkpoint from its payload (what `torch.save` wrote); UsageError naming a missing key."""
        for key in _REQUIRED_CKPT:
            if key not in d:
                raise UsageError(f"{path} is an incomplete eemkit checkpoint (missing {key!r})")
        return cls(path=Path(path), model_spec=d["model_spec"], labels=d["labels"], preprocess=d["preprocess"],
                   state=d["model"], config=d.get("config") or {}, class_prior=d.get("class_prior"), stage=d.get("stage"),
                   payload=d)

    @property
    def label_space(self) -> LabelSpace:
        return LabelSpace.from_dict(self.labels)

    @property
    def logit_adjust(self) -> float:
        return float(self.config.get("loss", {}).get("logit_adjust", 0.0))

    def weights_bytes(self) -> int:
        """Bytes of the model weights (not optimiser or scheduler state)."""
        return sum(int(v.numel()) * int(v.element_size()) for v in self.state.values())

    def meta(self, precision: str = "fp32", mirror: bool = False) -> ArtifactMeta:
        """The metadata of a model run straight from this checkpoint."""
        labels = self.label_space
        return ArtifactMeta(classes=labels.fine, coarse_classes=labels.coarse, preprocess=dict(self.preprocess),
                            coarse_index=tuple(labels.coarse_index), precision=precision,
                            class_prior=None if self.class_prior is None else tuple(self.class_prior),
                            logit_adjust=self.logit_adjust, mirror_average=mirror,
                            extra={"model_spec": self.model_spec, "fine_to_coarse": labels.fine_to_coarse_map()})


def read_checkpoint_payload(path: str | Path) -> dict[str, Any]:
    """The validated raw payload of an eemkit checkpoint (torch is imported here, not at module import)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a corrupt file
        raise UsageError(f"{path} is not a readable checkpoint (corrupt or truncated?): {type(err).__name__}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{path} is not an eemkit checkpoint (no eemkit metadata); train one with `eemkit train`")
    Checkpoint.from_payload(ckpt, path)  # validates the keys
    return ckpt
