"""Cached distillation targets: the frozen teacher's outputs on every training image, computed once.

Distilling online runs the teacher on every augmented batch (+50 % time for a 2 x ResNet-18 teacher
and a ResNet-18 student here). Cached targets cost one pass over the training set and its mirror
before the first step; each training step then looks its batch up, following the augmentation's
horizontal flip. The teacher sees the clean face, the student the augmented one ("offline"
distillation): the targets no longer depend on the augmentation.

Any model eemkit can run serves as the teacher: a checkpoint (PyTorch; gives V^f, V^c and the
256-d V^a), an exported ONNX or engine (through the Runner interface; logits only, so the V^a
term of L_D is skipped), or an `.npz` of outputs saved by `save_teacher_outputs` (e.g. computed on
a GPU box and brought back as fp16). The teacher's own preprocessing (input size, crop) is used.

`combine` makes stronger targets from what is cached: the mean of several teachers' predictions (an
ensemble teacher) and/or the mean over the face and its mirror (test-time flip averaging), for
`eemkit train targets`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from eemkit.data.preprocess import PreprocessSpec, prepare_images, to_model_input
from eemkit.errors import UsageError
from eemkit.formats import RUNTIME_SUFFIXES
from eemkit.labels import LabelSpace, check_same_classes
from eemkit.train.checkpoint import build_from_checkpoint

KEYS = ("fine_logits", "coarse_logits", "features")


@dataclass
class TeacherTargets:
    """Teacher outputs per training image: plain[k] and mirrored[k] are float16 (N, D) arrays."""

    plain: dict[str, np.ndarray]
    mirrored: dict[str, np.ndarray]
    classes: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return int(self.plain["fine_logits"].shape[0])

    @property
    def has_features(self) -> bool:
        return "features" in self.plain

    def batch(self, idx: torch.Tensor, flipped: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
        """The outputs for images `idx` (N,), mirrored where `flipped` (N,) is set, as float32 tensors."""
        i = idx.numpy()
        f = flipped.numpy()[:, None]
        return {k: torch.from_numpy(np.where(f, self.mirrored[k][i], self.plain[k][i]).astype(np.float32)).to(device)
                for k in self.plain}


ReadAt = Callable[[PreprocessSpec], np.ndarray]


def _rescale(images: np.ndarray, spec: PreprocessSpec, read_at: ReadAt | None = None) -> np.ndarray:
    """Prepared uint8 (N, R, R, C) at one spec -> the same images prepared for another spec: read again from
    the source with `read_at` (data.datasets.split_reader) where given, else resized from the prepared ones."""
    if images.shape[1] == spec.resize_size and images.shape[3] == spec.channels:
        return images
    if read_at is not None:
        imgs = read_at(spec)
        if len(imgs) != len(images):
            raise UsageError(f"read {len(imgs)} images at {spec.resize_size} px for {len(images)} prepared ones")
        return imgs
    return prepare_images(list(images), spec)


@torch.no_grad()
def _torch_outputs(model: torch.nn.Module, images: np.ndarray, spec: PreprocessSpec, batch: int,
                   progress: Callable[[int, int], None] | None) -> dict[str, np.ndarray]:
    model.eval()
    device = next(model.parameters()).device
    outs: dict[str, list[np.ndarray]] = {k: [] for k in KEYS}
    for i in range(0, len(images), batch):
        res = model(to_model_input(torch.from_numpy(images[i:i + batch]), spec).to(device))
        for k in KEYS:
            outs[k].append(res[k].float().cpu().numpy().astype(np.float16))
        if progress:
            progress(min(i + batch, len(images)), len(images))
    return {k: np.concatenate(v) for k, v in outs.items()}


def from_model(model: torch.nn.Module, spec: PreprocessSpec, classes: tuple[str, ...], images: np.ndarray,
               source: str, batch: int = 256, progress: Callable[[int, int], None] | None = None,
               read_at: ReadAt | None = None) -> TeacherTargets:
    """Run a PyTorch teacher (eval mode, FP32) over prepared training images and their mirrors (the images
    read again at the teacher's own spec by `read_at` where it differs and `read_at` is given)."""
    imgs = _rescale(images, spec, read_at)
    plain = _torch_outputs(model, imgs, spec, batch, progress)
    mirrored = _torch_outputs(model, np.ascontiguousarray(imgs[:, :, ::-1, :]), spec, batch, progress)
    return TeacherTargets(plain, mirrored, tuple(classes), source)


def from_artifact(path: str | Path, images: np.ndarray, open_artifact: Callable[..., Any], threads: int | None = None,
                  progress: Callable[[int, int], None] | None = None, read_at: ReadAt | None = None) -> TeacherTargets:
    """Run an exported teacher (ONNX, engine) over prepared training images and their mirrors (the images
    read again at the teacher's own spec by `read_at` where it differs and `read_at` is given).

    open_artifact: the runtime's `open_runner` (passed in: training sits below the runtime layer)."""
    with open_artifact(path, threads=threads) as runner:
        imgs = _rescale(images, runner.spec, read_at)
        res = []
        for arr in (imgs, np.ascontiguousarray(imgs[:, :, ::-1, :])):
            o = runner.infer_prepared(arr, raw=True)  # raw logits, as from_model gives a checkpoint's
            res.append({k: o[k].astype(np.float16) for k in ("fine_logits", "coarse_logits")})
            if progress:
                progress(len(imgs), len(imgs))
        return TeacherTargets(res[0], res[1], tuple(runner.labels.fine), str(path))


def load_frozen_teacher(path: str | Path, labels: LabelSpace,
                        note: Callable[[str], None]) -> tuple[torch.nn.Module, PreprocessSpec]:
    """A checkpoint's network in eval mode with frozen weights, and its own preprocessing.

    Raises UsageError when its classes differ from `labels`; a student checkpoint is allowed and noted."""
    teacher, ckpt = build_from_checkpoint(path)
    check_same_classes(LabelSpace.from_dict(ckpt["labels"]), labels, f"teacher {path}")
    if ckpt["model_spec"].get("kind") != "teacher":  # allowed (teacher refresh, distilling from a shipped student), never silent
        note(f"note: --teacher {path} is a {ckpt['model_spec'].get('kind')} checkpoint, not a KTN teacher "
             "(`eemkit train teacher`): distilling from a student's outputs")
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.eval(), PreprocessSpec.from_dict(ckpt["preprocess"])


def from_path(path: str | Path, images: np.ndarray, names: list[str], labels: LabelSpace, *,
              device: torch.device | str = "cpu", batch: int = 256, threads: int | None = None,
              open_artifact: Callable[..., Any] | None = None, note: Callable[[str], None] = lambda _m: None,
              progress: Callable[[int, int], None] | None = None, read_at: ReadAt | None = None) -> TeacherTargets:
    """The targets of any teacher eemkit can run, on prepared training images (N, R, R, C) named `names`.
    A teacher of another input side sees the images read again from the source by `read_at` (a
    data.datasets.split_reader of the same images) where given, else the prepared images resized.

    path: a checkpoint (.pt/.pth/.ckpt), saved outputs (.npz) or an exported model (anything else,
    opened with `open_artifact`, the runtime's open_runner). Raises UsageError for a missing file,
    other classes, or saved outputs that lack some of the images."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"teacher {path} is a folder; give a checkpoint (best.pt), an exported model or a .npz in it")
    if not path.is_file():
        raise UsageError(f"teacher {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        targets = load_teacher_outputs(path, names)
    elif suffix in RUNTIME_SUFFIXES["torch"]:
        model, spec = load_frozen_teacher(path, labels, note)
        targets = from_model(model.to(device), spec, labels.fine, images, str(path), batch, progress, read_at)
    else:
        if open_artifact is None:
            raise UsageError(f"teacher {path} is an exported model: pass open_artifact=eemkit.runtime.open_runner "
                             "(the CLI and the pipeline do)")
        targets = from_artifact(path, images, open_artifact, threads=threads, progress=progress, read_at=read_at)
    check_classes(targets, labels)
    if len(targets) != len(images):
        raise UsageError(f"teacher outputs cover {len(targets)} images but the training set has {len(images)}")
    return targets


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    return np.mean([a.astype(np.float32) for a in arrays], axis=0).astype(np.float16)


def combine(targets: list[TeacherTargets], mirror: bool = False) -> TeacherTargets:
    """One set of targets from several teachers and/or both views of each face.

    Every output becomes the mean of the logits over the teachers (an ensemble) and, with `mirror`, over
    the face and its mirror (both views then get the same target): the rule of the export's
    `--mirror-average` graph (eemkit.models.eem.mirror_average), so a temperature T then softens the
    mean logits as it softens one teacher's (softmax(mean z / T)). The 256-d features (the V^a term of
    L_D) are kept only for a single teacher: different networks' features are not comparable. Raises
    UsageError for no teachers or teachers of different classes or lengths."""
    if not targets:
        raise UsageError("no teacher given")
    first = targets[0]
    for t in targets[1:]:
        if tuple(t.classes) != tuple(first.classes):
            raise UsageError(f"teacher {t.source} has classes {list(t.classes)} but {first.source} has {list(first.classes)}")
        if len(t) != len(first):
            raise UsageError(f"teacher {t.source} covers {len(t)} images but {first.source} covers {len(first)}")
    if len(targets) == 1 and not mirror:
        return first
    keys = [k for k in KEYS if k != "features" or (len(targets) == 1 and first.has_features)]
    plain, mirrored = {}, {}
    for k in keys:
        p = [t.plain[k] for t in targets]
        m = [t.mirrored[k] for t in targets]
        if mirror:
            plain[k] = mirrored[k] = _mean(p + m)
        else:
            plain[k], mirrored[k] = _mean(p), _mean(m)
    source = " + ".join(t.source for t in targets) + (" (mirror-averaged)" if mirror else "")
    return TeacherTargets(plain, mirrored, tuple(first.classes), source)


def save_teacher_outputs(targets: TeacherTargets, names: list[str], path: str | Path,
                         info: dict[str, Any] | None = None) -> Path:
    """Write targets with the image names they belong to (float16 .npz), for `--teacher FILE.npz`.

    info: provenance kept in the file as JSON (teachers, mirror, the data settings they were made at)."""
    import json

    from eemkit.io_utils import atomic_open

    path = Path(path)
    arrays = {f"plain_{k}": v for k, v in targets.plain.items()}
    arrays.update({f"mirrored_{k}": v for k, v in targets.mirrored.items()})
    meta = {"source": targets.source, **(info or {})}
    with atomic_open(path, "wb", what="teacher outputs") as fh:
        np.savez(fh, names=np.asarray(names), classes=np.asarray(targets.classes), info=np.asarray(json.dumps(meta)),
                 **arrays)
    return path


def read_info(path: str | Path) -> dict[str, Any]:
    """The provenance saved with a targets file ({} for a file written before eemkit kept it)."""
    import json

    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["info"])) if "info" in z.files else {}
    except Exception:  # the loader below gives the one-line error for a bad file
        return {}


def load_teacher_outputs(path: str | Path, names: list[str]) -> TeacherTargets:
    """Targets saved by `save_teacher_outputs`, reordered to `names` (the training set's image names).

    Raises UsageError when the file is unreadable (truncated, not an .npz), its arrays have the wrong
    shapes or non-finite values, or it lacks any of the training images."""
    import zipfile
    import zlib

    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as err:
        raise UsageError(f"{path} is not a readable teacher-outputs file ({type(err).__name__}: truncated or not an "
                         ".npz written by `eemkit train targets`)") from None
    for k in ("names", "classes", "plain_fine_logits", "plain_coarse_logits", "mirrored_fine_logits", "mirrored_coarse_logits"):
        if k not in data:
            raise UsageError(f"{path} is not a teacher-outputs file (missing {k!r})")
    n, n_fine = len(data["names"]), len(data["classes"])
    for k in KEYS:
        for view in ("plain", "mirrored"):
            a = data.get(f"{view}_{k}")
            if a is None:
                continue
            if a.ndim != 2 or a.shape[0] != n or (k == "fine_logits" and a.shape[1] != n_fine):
                raise UsageError(f"{path}: {view}_{k} has shape {a.shape}, expected ({n}, "
                                 f"{n_fine if k == 'fine_logits' else 'D'}) for {n} images and {n_fine} classes")
            if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
                raise UsageError(f"{path}: {view}_{k} holds non-finite or non-float values")
    pos = {str(n): i for i, n in enumerate(data["names"])}
    missing = [n for n in names if n not in pos]
    if missing:
        raise UsageError(f"{path} has no teacher outputs for {len(missing)} training images (e.g. {missing[0]}); "
                         "it was made for another dataset, split or label mode")
    order = np.asarray([pos[n] for n in names], dtype=np.int64)
    plain = {k: data[f"plain_{k}"][order] for k in KEYS if f"plain_{k}" in data}
    mirrored = {k: data[f"mirrored_{k}"][order] for k in KEYS if f"mirrored_{k}" in data}
    return TeacherTargets(plain, mirrored, tuple(str(c) for c in data["classes"]), str(path))


def check_classes(targets: TeacherTargets, labels: LabelSpace) -> None:
    """Raise UsageError unless the targets' fine classes and coarse width are the data's."""
    if tuple(targets.classes) != tuple(labels.fine):
        raise UsageError(f"teacher {targets.source} has classes {list(targets.classes)} but the data has {list(labels.fine)}")
    width = targets.plain["coarse_logits"].shape[1]
    if width != labels.n_coarse:
        raise UsageError(f"teacher {targets.source} has {width} coarse outputs but the data has {labels.n_coarse} coarse groups")
