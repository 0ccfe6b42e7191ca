"""`eemkit train targets`: distillation targets from one or more teachers, saved once, used by any student.

The targets are the teachers' outputs on the training images and their mirrors (`teacher_cache`).
Several teachers make an ensemble teacher (the mean of their predictions); `mirror` averages every
teacher over the face and its mirror. The same combination is scored on the valid split, teacher by
teacher and combined, so the user sees whether the ensemble teaches more than its members before a
student is trained on it. The file goes to `eemkit train student --teacher FILE.npz`; it is also how a
teacher trained on a GPU box comes back small (fp16 outputs instead of weights).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from eemkit.config import TrainConfig
from eemkit.data.datasets import ImageSet
from eemkit.errors import UsageError
from eemkit.io_utils import check_output_file
from eemkit.metrics import classification_metrics
from eemkit.train import teacher_cache
from eemkit.train.loop import Reporter, _NullReporter, load_data


@dataclass
class TargetsResult:
    """What `make_targets` wrote and how each teacher, and their combination, scores on valid."""

    path: Path
    images: int
    teachers: list[str]
    mirror: bool
    has_features: bool
    seconds: float
    # one row per teacher and a last "combined" row: name, accuracy, average, coarse_accuracy (valid, %);
    # None where the valid split is missing or the teacher is saved outputs of the training images only
    valid: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "images": self.images, "teachers": self.teachers, "mirror": self.mirror,
                "has_features": self.has_features, "seconds": round(self.seconds, 1), "valid": self.valid}


def _score(targets: teacher_cache.TeacherTargets, data: ImageSet) -> dict[str, float]:
    m = classification_metrics(data.fine, targets.plain["fine_logits"].astype(np.float32), data.labels.fine,
                               targets.plain["coarse_logits"].astype(np.float32), data.labels.coarse_index,
                               data.labels.coarse)
    return {k: round(float(m[k]), 2) for k in ("accuracy", "average", "coarse_accuracy")}


def make_targets(cfg: TrainConfig, teachers: list[str | Path], out: str | Path, mirror: bool = False,
                 open_artifact: Callable[..., Any] | None = None, reporter: Reporter | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> TargetsResult:
    """Run every teacher over cfg's training set (its data section: path, format, label mode, input
    size), combine them, score them on valid, and write the targets to `out` (.npz, fp16).

    Raises UsageError for no teacher, a missing teacher file, an `out` that is not a writable .npz
    path, or teachers whose classes differ from the data's."""
    reporter = reporter or _NullReporter()
    out = Path(out)
    if out.suffix.lower() != ".npz":
        raise UsageError(f"-o {out}: teacher outputs are written as .npz; give a name ending in .npz")
    check_output_file(out, "-o")
    if not teachers:
        raise UsageError("give at least one --teacher (a checkpoint, an exported model or saved outputs)")
    for t in teachers:
        if not Path(t).is_file():
            raise UsageError(f"teacher {t} does not exist")
    t0 = time.perf_counter()
    train_set, valid_set, _spec = load_data(cfg, reporter)
    labels = train_set.labels
    threads = cfg.optim.threads or None
    per_train, per_valid = [], []
    for i, t in enumerate(teachers):
        def kw(split: str) -> dict[str, Any]:
            name = f"teacher {i + 1}/{len(teachers)}, {split}"
            tick = (lambda done, total: progress(name, done, total)) if progress else None
            return dict(batch=cfg.optim.eval_batch, threads=threads, open_artifact=open_artifact, note=reporter.message,
                        progress=tick)

        per_train.append(teacher_cache.from_path(t, train_set.images, train_set.names, labels, **kw("train")))
        if valid_set is not None and Path(t).suffix.lower() != ".npz":
            per_valid.append(teacher_cache.from_path(t, valid_set.images, valid_set.names, labels, **kw("valid")))
        reporter.message(f"teacher {i + 1}/{len(teachers)}: {t} done ({time.perf_counter() - t0:.0f} s)")
    combined = teacher_cache.combine(per_train, mirror=mirror)
    teacher_cache.save_teacher_outputs(combined, train_set.names, out)
    rows: list[dict[str, Any]] = []
    if valid_set is not None:
        scored = len(per_valid) == len(teachers)
        it = iter(per_valid)
        for t in teachers:
            v = next(it) if Path(t).suffix.lower() != ".npz" else None
            rows.append({"name": str(t), **(_score(v, valid_set) if v is not None else {})})
        rows.append({"name": "combined" + (" (mirror-averaged)" if mirror else ""),
                     **(_score(teacher_cache.combine(per_valid, mirror=mirror), valid_set) if scored else {})})
    return TargetsResult(out, len(train_set), [str(t) for t in teachers], mirror, combined.has_features,
                         time.perf_counter() - t0, rows)
