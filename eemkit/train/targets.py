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

from eemkit.artifact import Checkpoint
from eemkit.config import TrainConfig
from eemkit.data.datasets import ImageSet, available_splits, load_split, split_reader
from eemkit.data.preprocess import PreprocessSpec
from eemkit.errors import UsageError
from eemkit.formats import RUNTIME_SUFFIXES
from eemkit.io_utils import check_output_file
from eemkit.metrics import classification_metrics
from eemkit.priors import PriorShift, prior_shift
from eemkit.train import teacher_cache
from eemkit.train.loop import Reporter, _NullReporter


@dataclass
class TargetsResult:
    """What `make_targets` wrote and how each teacher, and their combination, scores on valid."""

    path: Path | None  # None: scored on valid only, nothing written
    images: int
    teachers: list[str]
    mirror: bool
    has_features: bool
    seconds: float
    # one row per teacher (mirror-averaged with `mirror`) and, for several, a last "combined" row: name,
    # accuracy, average, coarse_accuracy (valid, %, at each teacher's train operating point); a row without
    # scores for saved outputs (they hold the training images only); no rows without a valid split
    valid: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path) if self.path is not None else None, "images": self.images, "teachers": self.teachers, "mirror": self.mirror,
                "has_features": self.has_features, "seconds": round(self.seconds, 1), "valid": self.valid}


def _score(targets: teacher_cache.TeacherTargets, data: ImageSet, shift: PriorShift | None) -> dict[str, float]:
    out = {"fine_logits": targets.plain["fine_logits"].astype(np.float32),
           "coarse_logits": targets.plain["coarse_logits"].astype(np.float32)}
    if shift is not None:  # scored at the train operating point, as eval and the training loop score a model
        out = shift.apply(out)
    m = classification_metrics(data.fine, out["fine_logits"], data.labels.fine, out["coarse_logits"],
                               data.labels.coarse_index, data.labels.coarse)
    return {k: round(float(m[k]), 2) for k in ("accuracy", "average", "coarse_accuracy")}


def train_point(path: Path, open_artifact: Callable[..., Any] | None) -> PriorShift | None:
    """The train operating point of a checkpoint or exported teacher (None for saved outputs)."""
    if path.suffix.lower() == ".npz":
        return None
    if path.suffix.lower() in RUNTIME_SUFFIXES["torch"]:
        return prior_shift(Checkpoint.load(path).meta(), "train")
    if open_artifact is None:
        return None
    with open_artifact(path, threads=1) as runner:
        return prior_shift(runner.meta, "train")


def make_targets(cfg: TrainConfig, teachers: list[str | Path], out: str | Path | None, mirror: bool = False,
                 open_artifact: Callable[..., Any] | None = None, reporter: Reporter | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> TargetsResult:
    """Run every teacher over cfg's whole training split (its data section: path, format, label mode,
    input size, limit; no hold-out, so the file serves runs of any seed), combine them, score each
    teacher and the combination on the valid split where there is one, and write the targets to `out`
    (.npz, fp16, with its provenance). With `out` None only the valid split is scored (nothing is written):
    the quick way to see whether an ensemble teaches more than its members.

    Raises UsageError for no teacher, a missing teacher file, an `out` that is not a writable .npz
    path, teachers whose classes differ from the data's, or `out` None on data without a valid split."""
    import torch

    reporter = reporter or _NullReporter()
    out = Path(out) if out is not None else None
    if out is not None and out.suffix.lower() != ".npz":
        raise UsageError(f"-o {out}: teacher outputs are written as .npz; give a name ending in .npz")
    if out is not None:
        check_output_file(out, "-o")
    if not teachers:
        raise UsageError("give at least one --teacher (a checkpoint, an exported model or saved outputs)")
    paths = [Path(t) for t in teachers]
    for t in paths:
        if t.is_dir():
            raise UsageError(f"teacher {t} is a folder; give a checkpoint (best.pt), an exported model or a .npz in it")
        if not t.is_file():
            raise UsageError(f"teacher {t} does not exist")
    if cfg.optim.threads > 0:
        torch.set_num_threads(cfg.optim.threads)
    t0 = time.perf_counter()
    d = cfg.data
    spec = PreprocessSpec.for_input(d.input_size, d.crop_pct, d.color)
    reporter.message(f"loading {d.format} from {d.path} at {spec.resize_size}px")
    has_valid = "valid" in available_splits(d.path, d.format)
    if out is None and not has_valid:
        raise UsageError(f"{d.path} has no valid split to score the teachers on")
    train_set = (load_split(d.path, d.format, "train", spec, d.label_mode, d.skip_bad, d.limit, log=reporter.message)
                 if out is not None else None)
    valid_set = (load_split(d.path, d.format, "valid", spec, "majority", d.skip_bad, d.valid_limit, log=reporter.message)
                 if has_valid else None)
    if valid_set is None:
        reporter.message(f"{d.path} has no valid split: the teachers are not scored")
    labels = (train_set or valid_set).labels
    threads = cfg.optim.threads or None
    per_train, rows = [], []
    per_valid: list[teacher_cache.TeacherTargets | None] = []
    # a teacher of another input side reads the images again from the source at its own side
    read_at = {"train": split_reader(d.path, d.format, "train", train_set.names, d.label_mode, d.skip_bad, d.limit,
                                     log=reporter.message) if train_set is not None else None,
               "valid": split_reader(d.path, d.format, "valid", valid_set.names, "majority", d.skip_bad, d.valid_limit,
                                     log=reporter.message) if valid_set is not None else None}
    for i, t in enumerate(paths):
        def kw(split: str) -> dict[str, Any]:
            name = f"teacher {i + 1}/{len(paths)}, {split}"
            tick = (lambda done, total: progress(name, done, total)) if progress else None
            return dict(batch=cfg.optim.eval_batch, threads=threads, open_artifact=open_artifact, note=reporter.message,
                        progress=tick, read_at=read_at[split])

        if train_set is not None:
            per_train.append(teacher_cache.from_path(t, train_set.images, train_set.names, labels, **kw("train")))
        v = None
        if valid_set is not None and t.suffix.lower() != ".npz":
            v = teacher_cache.combine([teacher_cache.from_path(t, valid_set.images, valid_set.names, labels, **kw("valid"))],
                                      mirror=mirror)
            rows.append({"name": str(t), **_score(v, valid_set, train_point(t, open_artifact))})
        elif valid_set is not None:
            rows.append({"name": str(t)})  # saved outputs hold the training images only
        per_valid.append(v)
        reporter.message(f"teacher {i + 1}/{len(paths)}: {t} done ({time.perf_counter() - t0:.0f} s)")
    combined = teacher_cache.combine(per_train, mirror=mirror) if train_set is not None else None
    if out is not None and combined is not None and train_set is not None:
        if out.exists():
            reporter.message(f"replacing {out}")
        info = {"teachers": [str(t) for t in paths], "mirror": mirror, "data": {
            "path": str(d.path), "format": d.format, "label_mode": d.label_mode, "input_size": d.input_size,
            "crop_pct": d.crop_pct, "color": d.color, "limit": d.limit}}
        teacher_cache.save_teacher_outputs(combined, train_set.names, out, info)
    if valid_set is not None and len(paths) > 1:
        name = "combined" + (" (mirror-averaged)" if mirror else "")
        if all(v is not None for v in per_valid):
            shifts = [train_point(t, open_artifact) for t in paths]
            # each teacher at its own train point (they may differ in logit adjustment), then the mean
            shifted = [teacher_cache.TeacherTargets(s.apply(v.plain) if s else v.plain, v.mirrored, v.classes, v.source)
                       for v, s in zip(per_valid, shifts)]
            rows.append({"name": name, **_score(teacher_cache.combine(shifted), valid_set, None)})
        else:
            rows.append({"name": name})
    return TargetsResult(out, len(train_set) if train_set is not None else 0, [str(t) for t in paths], mirror,
                         combined.has_features if combined is not None else False, time.perf_counter() - t0, rows)
