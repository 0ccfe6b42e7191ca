"""The frozen teacher of a student run, in each form it can take (loss.teacher_outputs):

- cached: its outputs on the clean training images and their mirrors, computed once (teacher_cache);
- online, a checkpoint: the PyTorch network run on every augmented batch;
- online, an exported model (ONNX, engine): its runtime run on every augmented batch (e.g. INT8 ONNX
  Runtime: the same view as the student, at a fraction of the PyTorch teacher's cost).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from eemkit.config import TrainConfig
from eemkit.data.datasets import ImageSet, split_reader
from eemkit.data.preprocess import PreprocessSpec
from eemkit.errors import EemkitError, UsageError
from eemkit.formats import RUNTIME_SUFFIXES
from eemkit.labels import LabelSpace, check_same_classes
from eemkit.train import teacher_cache
from eemkit.train.distributed import DistContext


class Reporter(Protocol):
    def message(self, text: str) -> None: ...


NEEDS_TEACHER = "distilling a student needs --teacher CKPT (or --no-distill)"


def load_teacher(cfg: TrainConfig, labels: LabelSpace, spec: PreprocessSpec,
                 reporter: Reporter) -> tuple[torch.nn.Module, PreprocessSpec] | None:
    """The frozen teacher network and its own preprocessing, from cfg.teacher (a checkpoint), to run online on
    the student's model input (preprocessed with `spec`). Raises UsageError when the teacher was trained at
    another preprocessing (as runtime_teacher does for an exported one)."""
    if cfg.stage != "student" or not cfg.loss.distill:
        return None
    if not cfg.teacher:
        raise UsageError(NEEDS_TEACHER)
    teacher, t = teacher_cache.load_frozen_teacher(cfg.teacher, labels, reporter.message)
    _check_student_input(Path(cfg.teacher), "float_nchw", t, spec)
    return teacher, t


def _check_student_input(path: Path, input_kind: str, t: PreprocessSpec, spec: PreprocessSpec) -> None:
    """An online teacher reads the student's float NCHW model input as it is: refuse one that expects another."""
    if input_kind != "float_nchw" or (t.input_size, t.resize_size, t.channels, tuple(t.mean), tuple(t.std)) != \
            (spec.input_size, spec.resize_size, spec.channels, tuple(spec.mean), tuple(spec.std)):
        raise UsageError(f"teacher {path} takes {input_kind} at {t.input_size} px (cropped from {t.resize_size} px), "
                         f"{t.channels} channels; online distillation feeds it the student's float NCHW input at "
                         f"{spec.input_size} px (cropped from {spec.resize_size} px), {spec.channels} channels: "
                         "train or export the teacher at the student's preprocessing, or use loss.teacher_outputs=cached")


RUN_CACHE = "teacher-targets.npz"


def _cache_key(cfg: TrainConfig, train_set: ImageSet) -> dict:
    """What the run folder's cached targets depend on: the teacher file as it is now, the mirror setting and
    the training images (their settings and names)."""
    st = Path(cfg.teacher).stat()
    names = hashlib.sha256("\n".join(train_set.names).encode()).hexdigest()
    data = {k: getattr(cfg.data, k) for k in ("format", "label_mode", "input_size", "crop_pct", "color")}
    return {"format": 2, "teacher": str(Path(cfg.teacher).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "mirror": cfg.loss.teacher_mirror, "names_sha256": names,
            "data": {"path": str(Path(cfg.data.path).resolve()), **data}}


def teacher_targets(cfg: TrainConfig, train_set: ImageSet, labels: LabelSpace, ctx: DistContext,
                    open_artifact: Callable[..., Any] | None, reporter: Reporter,
                    out: Path | None = None) -> teacher_cache.TeacherTargets | None:
    """The cached distillation targets (loss.teacher_outputs=cached) from any teacher artifact.

    out: the run folder. The targets are kept there (teacher-targets.npz) and reused when the run starts
    again with the same teacher file, mirror setting and images (a resume in a later session skips the
    teacher's pass: about 11 min for the KTN on FER+ with 1 thread)."""
    if cfg.stage != "student" or not cfg.loss.distill or cfg.loss.teacher_outputs != "cached":
        return None
    if not cfg.teacher:
        raise UsageError(NEEDS_TEACHER)
    t0 = time.perf_counter()
    is_npz = str(cfg.teacher).lower().endswith(".npz")
    avg = ", averaged over each face and its mirror" if cfg.loss.teacher_mirror else ""
    cache = out / RUN_CACHE if out is not None and not is_npz else None
    key = _cache_key(cfg, train_set) if cache is not None and Path(cfg.teacher).is_file() else None
    if cache is not None and key is not None and cache.is_file() and teacher_cache.read_info(cache).get("cache_key") == key:
        try:
            targets = teacher_cache.load_teacher_outputs(cache, train_set.names)
            teacher_cache.check_classes(targets, labels)
        except UsageError:  # damaged: run the teacher again
            reporter.message(f"{cache} is unreadable: running the teacher again")
        else:
            reporter.message(f"reused the teacher's outputs kept in {cache} ({len(train_set)} training images and their "
                             f"mirrors{avg}; the teacher file is unchanged)")
            return targets
    d = cfg.data  # a teacher of another input side reads the training images again from the source at its side
    read_at = split_reader(d.path, d.format, "train", train_set.names, d.label_mode, d.skip_bad, d.limit,
                           log=reporter.message)
    targets = teacher_cache.from_path(cfg.teacher, train_set.images, train_set.names, labels, device=ctx.device,
                                      batch=cfg.optim.eval_batch, threads=cfg.optim.threads or None,
                                      open_artifact=open_artifact, note=reporter.message, read_at=read_at)
    if cfg.loss.teacher_mirror:
        targets = teacher_cache.combine([targets], mirror=True)
    if cache is not None and key is not None and ctx.is_main:
        from eemkit.io_utils import ensure_dir

        try:  # only a speed-up for a later resume: a full disk here must not end the run
            ensure_dir(out, "--out")
            teacher_cache.save_teacher_outputs(targets, train_set.names, cache, {"cache_key": key})
        except (EemkitError, OSError) as err:
            reporter.message(f"the teacher's outputs were not kept in {cache} ({str(err).splitlines()[0]}); a resume "
                             "will run the teacher again")
    if is_npz:  # saved targets: say what they are and flag other data settings
        info = teacher_cache.read_info(cfg.teacher)
        made = info.get("data", {})
        other = [f"{k} {made[k]} (this run: {getattr(cfg.data, k)})" for k in ("label_mode", "input_size", "crop_pct", "color")
                 if k in made and made[k] != getattr(cfg.data, k)]
        if info.get("teachers"):
            reporter.message(f"targets of {len(info['teachers'])} teacher(s){', mirror-averaged' if info.get('mirror') else ''}: "
                             + ", ".join(info["teachers"]))
        if other:
            reporter.message(f"note: {cfg.teacher} was made with other data settings: {'; '.join(other)}")
    feat = "" if targets.has_features else " (logits only: the V^a term of L_D is skipped)"
    reporter.message(f"cached the teacher's outputs on {len(train_set)} training images and their mirrors "
                     f"in {time.perf_counter() - t0:.0f} s{avg}{feat}")
    return targets


CHECKPOINT_SUFFIXES = RUNTIME_SUFFIXES["torch"]


def runtime_teacher(cfg: TrainConfig, spec: PreprocessSpec, labels: LabelSpace,
                    open_artifact: Callable[..., Any] | None, reporter: Reporter) -> Any:
    """An exported teacher (ONNX, engine) to run on every augmented batch (loss.teacher_outputs online), or
    None for a checkpoint teacher. Its runtime reads the student's model input as it is, so it must take
    float NCHW at the student's preprocessing (size, crop, channels, normalisation). It runs where its runtime
    runs it (ONNX Runtime: the CPU; an engine: the GPU), whatever device the student trains on; the returned
    runner is active, and the caller deactivates it. Raises UsageError otherwise, or for saved targets (.npz)."""
    if not cfg.teacher:
        raise UsageError(NEEDS_TEACHER)
    path = Path(cfg.teacher)
    suffix = path.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        return None
    if suffix == ".npz":
        raise UsageError(f"teacher {path} holds saved targets of the clean training images: they cannot follow each "
                         "augmented batch; use loss.teacher_outputs=cached with it")
    if not path.is_file():
        raise UsageError(f"teacher {path} does not exist")
    if open_artifact is None:
        raise UsageError(f"teacher {path} is an exported model: pass open_artifact=eemkit.runtime.open_runner to train() "
                         "(the CLI and the pipeline do)")
    runner = open_artifact(path, threads=cfg.optim.threads or None)
    check_same_classes(runner.labels, labels, f"teacher {path}")
    _check_student_input(path, runner.input_kind, runner.spec, spec)
    reporter.message(f"online teacher through {runner.name} ({runner.precision}) on every augmented batch: logits only "
                     "(the V^a term of L_D is skipped)")
    return runner.activate()


def runtime_teacher_forward(runner: Any, x: torch.Tensor, mirror: bool) -> dict[str, torch.Tensor]:
    """An exported teacher's raw logits on the augmented batch x (N, C, S, S), as float32 tensors; with
    `mirror` the mean over x and its left-right mirror (as teacher_forward)."""
    def run(t: torch.Tensor) -> dict[str, np.ndarray]:
        return runner.infer(np.ascontiguousarray(t.detach().float().cpu().contiguous().numpy()))

    out = run(x)
    if mirror:
        flipped = run(x.flip(3))
        out = {k: (out[k] + flipped[k]) / 2 for k in out}
    return {k: torch.from_numpy(v).to(x.device) for k, v in out.items()}


@torch.no_grad()
def teacher_forward(teacher: torch.nn.Module, x: torch.Tensor, mirror: bool) -> dict[str, torch.Tensor]:
    """The online teacher's outputs on a batch x (N, C, S, S); with `mirror` the mean of every output over
    x and its left-right mirror, as teacher_cache.combine does for cached ones and the export's
    --mirror-average graph does for logits."""
    out = teacher(x)
    if not mirror:
        return out
    flipped = teacher(x.flip(3))
    return {k: (out[k].float() + flipped[k].float()) / 2 for k in out}
