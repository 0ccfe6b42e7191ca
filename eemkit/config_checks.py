"""Value ranges of the training config, checked when a config object is built (`__post_init__`), so a
bad value stops the run before any work with a message naming the key, the value and the range.

A key not listed here is not range-checked (its type is still checked by eemkit.config).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from eemkit.errors import UsageError


@dataclass(frozen=True)
class Range:
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo itself is not allowed
    hi_open: bool = False
    optional: bool = False  # None is allowed (meaning "off" / "all")

    def ok(self, v: float) -> bool:
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        return self.hi is None or (v < self.hi or (not self.hi_open and v == self.hi))

    def describe(self) -> str:
        if self.hi is None:
            text = f"{'>' if self.lo_open else '>='} {self.lo:g}"
        else:
            text = f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        return text + (" (or empty)" if self.optional else "")


AT_LEAST_1 = Range(1)
RANGES: dict[str, dict[str, Range]] = {
    "data": {
        "input_size": Range(16), "crop_pct": Range(0, 1, lo_open=True), "rotate_deg": Range(0, 180),
        "limit": Range(1, optional=True), "valid_limit": Range(1, optional=True),
        "mixup": Range(0), "cutmix": Range(0),
    },
    "model": {"hidden": AT_LEAST_1, "dropout": Range(0, 1, hi_open=True)},
    "optim": {
        "lr": Range(0), "weight_decay": Range(0), "batch_size": AT_LEAST_1, "epochs": AT_LEAST_1,
        "warmup_epochs": Range(0), "ema": Range(0, 1, hi_open=True),
        "step_size": AT_LEAST_1, "gamma": Range(0, 1, lo_open=True), "seed": Range(0), "threads": Range(0),
        "max_steps_per_epoch": Range(1, optional=True), "eval_batch": AT_LEAST_1, "probe_every": Range(0),
    },
}
CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "data": {"color": ("gray", "rgb")},
    "model": {"head_act": ("relu", "none")},
    "optim": {"optimizer": ("adam", "adamw", "sgd"), "schedule": ("step", "cosine", "warmup_cosine"),
              "precision": ("auto", "fp32", "bf16"), "device": ("auto", "cpu", "cuda")},
}


def check_ranges(obj: Any, section: str) -> None:
    """Raise UsageError for the first field of config section `section` outside its range."""
    for key, rng in RANGES.get(section, {}).items():
        v = getattr(obj, key, None)
        if v is None and rng.optional:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not rng.ok(v):
            raise UsageError(f"config key {section}.{key} must be {rng.describe()}, got {v!r}")
    for key, allowed in CHOICES.get(section, {}).items():
        v = getattr(obj, key, None)
        if v not in allowed:
            raise UsageError(f"unknown {section}.{key} {v!r}; choose one of: {', '.join(allowed)}")


def describe_diff(saved: dict, now: dict, keys: list[str]) -> str:
    """'optim.lr (checkpoint: 0.001, now: 0.5), ...' for dotted keys of two config dicts."""
    def value(d: dict, key: str):
        for part in key.split("."):
            d = d.get(part) if isinstance(d, dict) else None
        return d

    return ", ".join(f"{k} (checkpoint: {value(saved, k)!r}, now: {value(now, k)!r})" for k in keys)
