"""Typed, frozen training configuration: YAML presets + CLI overrides -> one resolved config.

A config is a TrainConfig of four sections (data, model, loss, optim) plus the stage, the teacher
checkpoint (students) and the output folder. `resolve_config(preset, overrides)` starts from the
dataclass defaults (the paper's settings), applies a preset file or a named preset shipped in
eemkit/presets/, then `section.key=value` overrides (values parsed as YAML).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from eemkit.config_checks import check_ranges
from eemkit.errors import UsageError
from eemkit.losses.objectives import LossConfig

PRESET_DIR = Path(__file__).parent / "presets"
from eemkit.data import DEFAULT_DATA  # noqa: E402  (one definition, importable without torch)


@dataclass(frozen=True)
class DataConfig:
    def __post_init__(self) -> None:  # value ranges live in eemkit/config_checks.py
        check_ranges(self, "data")

    path: str = DEFAULT_DATA
    format: str = "ferplus"
    label_mode: str = "majority"
    input_size: int = 64
    crop_pct: float = 0.9
    color: str = "gray"
    balanced: bool = False
    rotate_deg: float = 10.0
    # augmentation beyond the basic random crop + flip + rotation (eemkit/data/augment.py); 0 / 1.0 = off
    scale_min: float = 1.0  # area of the random-resized crop relative to the evaluation crop
    scale_max: float = 1.0
    aspect: float = 1.0  # width/height ratio drawn log-uniformly from [1/aspect, aspect]
    translate: float = 0.0  # max shift, fraction of the crop side
    photometric: float = 0.0  # brightness/contrast/gamma jitter strength
    blur_p: float = 0.0
    jpeg_p: float = 0.0
    erase_p: float = 0.0
    mixup: float = 0.0  # Beta(alpha, alpha) of mixup; 0: off
    cutmix: float = 0.0  # Beta(alpha, alpha) of CutMix; 0: off
    limit: int | None = None  # keep the first N training images (quick runs, tests)
    valid_limit: int | None = None
    skip_bad: bool = False

    def augment_spec(self):
        from eemkit.data.augment import AugmentSpec

        if not 1.0 <= self.aspect <= 4.0:
            raise UsageError(f"data.aspect must be between 1 and 4 (the ratio range is [1/aspect, aspect]), got {self.aspect}")
        return AugmentSpec(scale=(self.scale_min, self.scale_max), aspect=(1.0 / self.aspect, self.aspect),
                           translate=self.translate, rotate_deg=self.rotate_deg, photometric=self.photometric,
                           blur_p=self.blur_p, jpeg_p=self.jpeg_p, erase_p=self.erase_p)


@dataclass(frozen=True)
class ModelConfig:
    def __post_init__(self) -> None:  # value ranges live in eemkit/config_checks.py
        check_ranges(self, "model")

    backbone: str = "resnet18"
    small_stem: bool = False
    hidden: int = 256
    head_act: str = "relu"
    dropout: float = 0.0
    use_coarse: bool = True
    pretrained: bool = False


@dataclass(frozen=True)
class OptimConfig:
    def __post_init__(self) -> None:  # value ranges live in eemkit/config_checks.py
        check_ranges(self, "optim")

    optimizer: str = "adam"  # adam | adamw | sgd (momentum 0.9, Nesterov)
    lr: float = 1e-4
    weight_decay: float = 5e-4
    batch_size: int = 32
    epochs: int = 12
    # step: x gamma every step_size epochs | cosine: cosine decay to 0 over the epochs (per epoch) |
    # warmup_cosine: linear warm-up over warmup_epochs, then cosine decay to 0, updated every step
    schedule: str = "step"
    warmup_epochs: float = 0.0
    ema: float = 0.0  # decay of an exponential moving average of the weights (e.g. 0.999); 0: off
    precision: str = "auto"  # auto (bf16 where the CPU/GPU has it) | fp32 | bf16
    step_size: int = 4
    gamma: float = 0.2
    seed: int = 0
    threads: int = 0  # 0: torch's default
    channels_last: bool = True
    max_steps_per_epoch: int | None = None  # cap steps per epoch (quick runs, tests)
    eval_batch: int = 256
    probe_every: int = 50  # measure the regulariser's share of the gradient every N steps (0: never)
    device: str = "auto"  # auto (CUDA when available) | cpu | cuda; torchrun picks one GPU per rank


@dataclass(frozen=True)
class TrainConfig:
    stage: str = "teacher"
    out: str = "runs/teacher"
    teacher: str | None = None
    init: str | None = None  # start from this checkpoint's weights (fresh optimiser and schedule)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return _build(cls, d, "")


# keys that may change between a run and its --resume without breaking exactness
RESUME_MUTABLE = {"out", "optim.epochs", "data.path", "data.skip_bad", "teacher", "optim.eval_batch", "optim.device",
                  "optim.precision"}

_SECTIONS = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig, "optim": OptimConfig}


def _build(cls: type, d: dict, prefix: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in d.items():
        if key not in known:
            raise UsageError(f"unknown config key {prefix}{key!r}; valid keys: {', '.join(sorted(known))}")
        sub = _SECTIONS.get(key) if cls is TrainConfig else None
        if sub is not None:
            if not isinstance(value, dict):
                raise UsageError(f"config section {key!r} must be a mapping")
            kwargs[key] = _build(sub, value, f"{key}.")
        else:
            kwargs[key] = _coerce(prefix + key, known[key], value)
    return cls(**kwargs)


def _coerce(name: str, f: dataclasses.Field, value: Any) -> Any:
    typ = str(f.type)
    if value is None:
        if "None" in typ:
            return None
        raise UsageError(f"config key {name} cannot be empty")
    try:
        if typ.startswith("bool"):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if typ.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if typ.startswith("float"):
            return float(value)
        if typ.startswith("str"):
            return str(value)
    except (TypeError, ValueError):
        raise UsageError(f"config key {name}: cannot use {value!r} as {typ}") from None
    return value


def _deep_update(base: dict, upd: dict) -> dict:
    out = dict(base)
    for k, v in upd.items():
        if isinstance(out.get(k), dict) and not isinstance(v, dict):
            raise UsageError(f"config section {k!r} cannot be set to {v!r}; set its keys with {k}.key=value")
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name_or_path: str, _seen: set[str] | None = None) -> dict:
    """A preset's mapping: a file path, or the name of a preset shipped in eemkit/presets/. A preset may
    start from another with `extends: NAME` (its keys override the other's)."""
    import yaml

    path = Path(name_or_path)
    if not path.is_file():
        path = PRESET_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UsageError(f"no preset or config file {name_or_path!r}; shipped presets: {', '.join(preset_names())}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a mapping of config sections")
    base = data.pop("extends", None)
    if base is not None:  # a preset that changes a few keys of another
        if _seen is not None and str(base) in _seen:
            raise UsageError(f"{path}: 'extends: {base}' forms a cycle")
        data = _deep_update(load_preset(str(base), (_seen or set()) | {str(base)}), data)
    return data


def parse_override(text: str) -> dict:
    """'optim.lr=0.001' -> {'optim': {'lr': 0.001}} (the value is parsed as YAML; '1e-3' stays text until
    the config coerces it to the key's type)."""
    import yaml

    if "=" not in text:
        raise UsageError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError:
        value = raw
    out: dict = {}
    cur = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def resume_preset(preset: str | None, resume: bool, out: str | Path | None) -> str | None:
    """The preset a run starts from: `preset`, or for `--resume` without one, the run's own config.yaml
    in `out` (so a resume needs none of the original flags again)."""
    if preset is None and resume and out is not None and (Path(out) / "config.yaml").is_file():
        return str(Path(out) / "config.yaml")
    return preset


def resolve_config(preset: str | None = None, overrides: list[dict] | None = None) -> TrainConfig:
    """Defaults <- preset <- overrides (in order), validated into a frozen TrainConfig."""
    return _resolve({}, preset, overrides)


def resolve_stage_config(stage: str, preset: str | None = None, overrides: list[dict] | None = None) -> TrainConfig:
    """The config of a `stage` run: defaults <- the stage's defaults <- preset <- overrides, stage set last.
    A student writes to runs/student, and without a preset trains with plain CE besides distillation."""
    stage_defaults: dict = {"stage": stage}
    if stage == "student":
        stage_defaults["out"] = "runs/student"
        if preset is None:
            stage_defaults["loss"] = {"loss": "ce"}
    return _resolve(stage_defaults, preset, [*(overrides or []), {"stage": stage}])


def _resolve(defaults: dict, preset: str | None, overrides: list[dict] | None) -> TrainConfig:
    d = _deep_update(TrainConfig().to_dict(), defaults)
    if preset:
        d = _deep_update(d, load_preset(preset))
    for o in overrides or []:
        d = _deep_update(d, o)
    return TrainConfig.from_dict(d)


def config_diff(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    keys = sorted(set(a) | set(b))
    diff = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            diff += config_diff(va, vb, f"{prefix}{k}.")
        elif va != vb:
            diff.append(f"{prefix}{k}")
    return diff


def save_config(cfg: TrainConfig, path: Path) -> None:
    import yaml

    from eemkit.io_utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(cfg.to_dict(), sort_keys=False), what="config")
