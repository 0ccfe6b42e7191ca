"""Readers for the FER datasets as users have them on disk, and the in-memory image set.

Formats: ferplus (FER+ folders with label.csv vote counts), rafdb (RAF-DB basic), affectnet /
affectnet7 (AffectNet CSV manifests, 8 or 7 classes), fer2013 (fer2013.csv with pixels), folder
(root/<class name>/*.jpg|png, optionally root/<split>/<class name>/...).

Indexing (`index_split`) reads only labels and checks that listed files exist; loading
(`load_split`) decodes every image once, resizes it with the shared preprocess and holds the split in
memory as one uint8 array, so training on 2 cores is not starved by image decoding. A model of another
input side (a teacher) reads the same images again at its own side (`split_reader`).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.data.preprocess import PreprocessSpec, prepare_image
from eemkit.errors import EemkitError, UsageError
from eemkit.io_utils import IMAGE_EXTS, check_image_size, read_image  # IMAGE_EXTS: one list for datasets and predict
from eemkit.labels import DATASET_CLASSES, FERPLUS_CLASSES, LabelSpace, canonical_name

FORMATS = ("ferplus", "rafdb", "affectnet", "affectnet7", "fer2013", "folder")
LABEL_MODES = ("majority", "argmax", "probability")
SPLITS = ("train", "valid", "test")

Progress = Callable[[int, int], None]


@dataclass
class Record:
    """One listed sample before decoding: a file (or raw pixels), its fine label and optional soft target."""

    name: str
    fine: int
    path: Path | None = None
    pixels: np.ndarray | None = None
    soft: np.ndarray | None = None
    box: tuple[int, int, int, int] | None = None


@dataclass
class SplitIndex:
    """The records of one split, with the counts of images excluded by the label rule."""

    split: str
    labels: LabelSpace
    records: list[Record]
    excluded: dict[str, int] = field(default_factory=dict)


@dataclass
class ImageSet:
    """A split held in memory: images uint8 (N, R, R, C) at the spec's resize size, fine labels (N,),
    optional soft targets (N, n_fine), and the coarse labels derived from the label space."""

    images: np.ndarray
    fine: np.ndarray
    labels: LabelSpace
    spec: PreprocessSpec
    names: list[str]
    soft: np.ndarray | None = None
    excluded: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.fine.shape[0])

    @property
    def coarse(self) -> np.ndarray:
        return np.asarray(self.labels.coarse_index, dtype=np.int64)[self.fine]

    def subset(self, idx: np.ndarray) -> "ImageSet":
        return ImageSet(self.images[idx], self.fine[idx], self.labels, self.spec,
                        [self.names[i] for i in idx], None if self.soft is None else self.soft[idx], dict(self.excluded))

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.fine, minlength=self.labels.n_fine)


def _require_dir(root: Path) -> Path:
    root = Path(root)
    if not root.exists():
        raise UsageError(f"dataset folder {root} does not exist; pass the path to your data (or set EEMKIT_DATA)")
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    return root


# ---------------------------------------------------------------- FER+
FERPLUS_DIRS = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}


def ferplus_label(votes: np.ndarray, mode: str) -> tuple[int | None, np.ndarray | None, str | None]:
    """Apply a FER+ label rule to 10 vote counts (8 emotions, unknown, NF).

    Returns (fine id or None, soft target or None, exclusion reason or None). Single votes are
    dropped first (FER+ paper, arXiv 1608.01041); "majority" then needs the top class to hold more
    than half of the remaining votes; any mode excludes images whose top class is unknown or NF.
    """
    v = np.where(votes == 1, 0, votes).astype(np.float64)
    total = v.sum()
    if total <= 0:
        return None, None, "no votes"
    top = int(np.argmax(v))
    if top >= 8:
        return None, None, "unknown/NF"
    if mode == "majority" and v[top] <= total / 2:
        return None, None, "no majority"
    soft = None
    if mode == "probability":
        emo = v[:8]
        soft = (emo / emo.sum()).astype(np.float32)
    return top, soft, None


def _index_ferplus(root: Path, split: str, mode: str) -> SplitIndex:
    folder = root / FERPLUS_DIRS[split]
    if not folder.is_dir():
        raise UsageError(f"FER+ folder {folder} is missing; expected {', '.join(FERPLUS_DIRS.values())} under {root}")
    label_file = folder / "label.csv"
    if not label_file.is_file():
        raise UsageError(f"{label_file} is missing: a FER+ split folder needs its label.csv")
    labels = LabelSpace(FERPLUS_CLASSES)
    records: list[Record] = []
    excluded: dict[str, int] = {}
    with open(label_file, newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), 1):
            if not row:
                continue
            if len(row) != 12:
                raise UsageError(f"{label_file}:{line_no}: expected 12 columns (name, box, 10 vote counts), got {len(row)}")
            try:
                votes = np.array([int(x) for x in row[2:]], dtype=np.int64)
            except ValueError:
                raise UsageError(f"{label_file}:{line_no}: vote counts must be integers, got {row[2:]}") from None
            if (votes < 0).any():
                raise UsageError(f"{label_file}:{line_no}: negative vote count in {row[2:]}")
            fine, soft, why = ferplus_label(votes, mode)
            if why is not None:
                excluded[why] = excluded.get(why, 0) + 1
                continue
            records.append(Record(name=row[0], fine=int(fine), path=folder / row[0], soft=soft))
    return SplitIndex(split, labels, records, excluded)


# ---------------------------------------------------------------- RAF-DB basic
def _index_rafdb(root: Path, split: str, mode: str) -> SplitIndex:
    lst = root / "EmoLabel" / "list_patition_label.txt"
    if not lst.is_file():
        raise UsageError(f"{lst} is missing: RAF-DB basic needs EmoLabel/list_patition_label.txt and Image/aligned/")
    prefix = "train" if split == "train" else "test"  # RAF-DB has no separate validation split
    labels = LabelSpace(DATASET_CLASSES["rafdb"])
    records = []
    for line_no, line in enumerate(lst.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit() or not 1 <= int(parts[1]) <= 7:
            raise UsageError(f"{lst}:{line_no}: expected '<image name> <label 1-7>', got {line!r}")
        if not parts[0].startswith(prefix):
            continue
        stem = Path(parts[0]).stem
        records.append(Record(name=parts[0], fine=int(parts[1]) - 1, path=root / "Image" / "aligned" / f"{stem}_aligned.jpg"))
    return SplitIndex(split, labels, records, {})


# ---------------------------------------------------------------- AffectNet
def _index_affectnet(root: Path, split: str, n_classes: int) -> SplitIndex:
    manifest = root / ("training.csv" if split == "train" else "validation.csv")
    if not manifest.is_file():
        raise UsageError(f"{manifest} is missing: AffectNet needs training.csv and validation.csv beside Manually_Annotated_Images/")
    labels = LabelSpace(DATASET_CLASSES["affectnet8" if n_classes == 8 else "affectnet7"])
    records, excluded = [], {}
    with open(manifest, newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "expression"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise UsageError(f"{manifest}: expected columns {sorted(need)}, got {reader.fieldnames}")
        for line_no, row in enumerate(reader, 2):
            try:
                expr = int(row["expression"])
                box = tuple(int(float(row[k])) for k in ("face_x", "face_y", "face_width", "face_height"))
            except (TypeError, ValueError):
                raise UsageError(f"{manifest}:{line_no}: expression and face box must be numbers") from None
            if expr >= n_classes:
                excluded["not an expression of this class set"] = excluded.get("not an expression of this class set", 0) + 1
                continue
            records.append(Record(name=row["subDirectory_filePath"], fine=expr, box=box,  # type: ignore[arg-type]
                                  path=root / "Manually_Annotated_Images" / row["subDirectory_filePath"]))
    return SplitIndex(split, labels, records, excluded)


# ---------------------------------------------------------------- FER2013 csv
FER2013_USAGE = {"train": "Training", "valid": "PublicTest", "test": "PrivateTest"}


def _index_fer2013(root: Path, split: str) -> SplitIndex:
    path = root / "fer2013.csv" if root.is_dir() else root
    if not path.is_file():
        raise UsageError(f"{path} is missing: FER2013 needs fer2013.csv (emotion, pixels, Usage)")
    labels = LabelSpace(DATASET_CLASSES["fer2013"])
    records = []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"emotion", "pixels", "Usage"} <= set(reader.fieldnames):
            raise UsageError(f"{path}: expected columns emotion, pixels, Usage; got {reader.fieldnames}")
        for line_no, row in enumerate(reader, 2):
            if row["Usage"] != FER2013_USAGE[split]:
                continue
            try:
                emo = int(row["emotion"])
                px = np.array(row["pixels"].split(), dtype=np.int64)
            except ValueError:
                raise UsageError(f"{path}:{line_no}: emotion and pixels must be integers") from None
            if not 0 <= emo <= 6 or px.size != 48 * 48 or px.min() < 0 or px.max() > 255:
                raise UsageError(f"{path}:{line_no}: expected emotion 0-6 and 2304 pixel values 0-255")
            records.append(Record(name=f"row{line_no}", fine=emo, pixels=px.astype(np.uint8).reshape(48, 48)))
    return SplitIndex(split, labels, records, {})


# ---------------------------------------------------------------- image folder
def _index_folder(root: Path, split: str) -> SplitIndex:
    base = root / split if (root / split).is_dir() else (root / "val" if split == "valid" and (root / "val").is_dir() else root)
    class_dirs = sorted(p for p in base.iterdir() if p.is_dir())
    if not class_dirs:
        raise UsageError(f"{base} has no class folders; expected {base}/<class name>/*.jpg|png")
    names = {d: canonical_name(d.name) for d in class_dirs}  # raises listing the known names
    present = [c for c in FERPLUS_CLASSES if c in names.values()]
    labels = LabelSpace(tuple(present))
    records = []
    for d in class_dirs:
        for f in sorted(d.iterdir()):
            if f.suffix.lower() in IMAGE_EXTS:
                records.append(Record(name=f"{d.name}/{f.name}", fine=present.index(names[d]), path=f))
    if not records:
        raise UsageError(f"{base} holds no images ({', '.join(IMAGE_EXTS)}) in its class folders")
    return SplitIndex(split, labels, records, {})


def index_split(root: str | Path, fmt: str, split: str, label_mode: str = "majority", check_files: bool = True) -> SplitIndex:
    """List one split's samples and labels without decoding images.

    Raises UsageError for an unknown format/split/label mode, a missing folder or label file, a
    malformed label row, or (check_files) a listed image that does not exist.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    if label_mode not in LABEL_MODES:
        raise UsageError(f"unknown label mode {label_mode!r}; choose one of: {', '.join(LABEL_MODES)}")
    if label_mode != "majority" and fmt != "ferplus":
        label_mode = "majority"  # only FER+ carries votes; other formats have one label per image
    root = _require_dir(Path(root)) if fmt != "fer2013" or Path(root).is_dir() else Path(root)
    if fmt == "ferplus":
        idx = _index_ferplus(root, split, label_mode)
    elif fmt == "rafdb":
        idx = _index_rafdb(root, split, label_mode)
    elif fmt in ("affectnet", "affectnet7"):
        idx = _index_affectnet(root, split, 7 if fmt == "affectnet7" else 8)
    elif fmt == "fer2013":
        idx = _index_fer2013(root, split)
    else:
        idx = _index_folder(root, split)
    if check_files:
        missing = [r.path for r in idx.records if r.path is not None and not os.path.exists(r.path)]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise UsageError(f"listed image {missing[0]} is missing{more}")
    return idx


def _read_image(rec: Record) -> np.ndarray:
    import cv2

    if rec.pixels is not None:
        return rec.pixels
    img = read_image(rec.path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if rec.box is not None:
        x, y, w, h = rec.box
        if w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= img.shape[1] and y + h <= img.shape[0]:
            img = img[y:y + h, x:x + w]
    check_image_size(img, rec.path)
    return img


def load_split(
    root: str | Path, fmt: str, split: str, spec: PreprocessSpec, label_mode: str = "majority",
    skip_bad: bool = False, limit: int | None = None, progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> ImageSet:
    """Decode one split into memory at spec.resize_size.

    A missing or unreadable image raises EemkitError naming it, unless skip_bad is set, in which case
    it is skipped and counted under excluded["unreadable"]. `limit` keeps the first N records.
    """
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")
    idx = index_split(root, fmt, split, label_mode, check_files=not skip_bad)
    recs = idx.records[:limit] if limit else idx.records
    images, fine, soft, names = [], [], [], []
    bad = 0
    for i, rec in enumerate(recs):
        try:
            img = prepare_image(_read_image(rec), spec)
        except EemkitError as err:
            if not skip_bad:
                raise EemkitError(f"{err}; pass --skip-bad to skip unreadable images") from None
            bad += 1
            if log:
                log(f"skipped {rec.path}: {err}")
            continue
        images.append(img)
        fine.append(rec.fine)
        names.append(rec.name)
        if rec.soft is not None:
            soft.append(rec.soft)
        if progress and (i % 512 == 0 or i == len(recs) - 1):
            progress(i + 1, len(recs))
    excluded = dict(idx.excluded)
    if bad:
        excluded["unreadable"] = bad
    if not images:
        raise UsageError(f"split {split!r} of {root} has no usable images")
    return ImageSet(
        images=np.stack(images), fine=np.asarray(fine, dtype=np.int64), labels=idx.labels, spec=spec,
        names=names, soft=np.stack(soft) if len(soft) == len(images) else None, excluded=excluded,
    )


def split_reader(root: str | Path, fmt: str, split: str, names: list[str], label_mode: str = "majority",
                 skip_bad: bool = False, limit: int | None = None,
                 log: Callable[[str], None] | None = None) -> Callable[[PreprocessSpec], np.ndarray]:
    """The images `names` of one split, read again from the source and prepared at another spec (a model of
    another input side, e.g. a 96 px teacher for a 64 px student): sharper than resizing images already
    prepared at the first spec, which interpolates twice. The reader keeps the last side it read (asked
    again for it, it reads nothing; asked for another, it lets the first go), and raises UsageError when
    the source no longer holds one of the names."""
    kept: dict[tuple[int, int], np.ndarray] = {}

    def read(spec: PreprocessSpec) -> np.ndarray:
        key = (spec.resize_size, spec.channels)
        if key not in kept:
            kept.clear()
            if log:
                log(f"reading the {split} split again at {spec.resize_size} px for a model of that side")
            s = load_split(root, fmt, split, spec, label_mode, skip_bad, limit, log=log)
            at = {n: i for i, n in enumerate(s.names)}
            missing = [n for n in names if n not in at]
            if missing:
                raise UsageError(f"{len(missing)} of the {split} images (e.g. {missing[0]}) are no longer in {root}")
            kept[key] = s.images if s.names == names else s.images[[at[n] for n in names]]
        return kept[key]

    return read


def available_splits(root: str | Path, fmt: str) -> list[str]:
    """The splits a dataset folder provides (RAF-DB and AffectNet have no separate test/valid pair)."""
    root = Path(root)
    if fmt == "ferplus":
        return [s for s, d in FERPLUS_DIRS.items() if (root / d).is_dir()]
    if fmt == "folder":
        found = [s for s in SPLITS if (root / s).is_dir() or (s == "valid" and (root / "val").is_dir())]
        return found or ["train"]
    if fmt == "rafdb":
        return ["train", "test"]
    if fmt in ("affectnet", "affectnet7"):
        return ["train", "valid"]
    return list(SPLITS)


def balanced_weights(fine: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-sample weights 1 / count(class), for a class-balanced sampler."""
    counts = np.bincount(fine, minlength=n_classes).astype(np.float64)
    return (1.0 / np.maximum(counts, 1))[fine]


def read_split_images(root: str | Path, fmt: str, split: str, skip_bad: bool = False,
                      limit: int | None = None, log: Callable[[str], None] | None = None,
                      ) -> tuple[list[np.ndarray], np.ndarray, LabelSpace, list[str]]:
    """The raw decoded images of a split (uint8 grey HxW or RGB HxWx3, as on disk), their fine labels (N,),
    the label space and the names, for evaluations that perturb images before the preprocess.

    A missing or unreadable image raises EemkitError naming it, unless skip_bad is set: then it is skipped,
    `log` is told which, and a last line gives the count."""
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")
    idx = index_split(root, fmt, split, "majority", check_files=not skip_bad)
    images, fine, names = [], [], []
    bad = 0
    for rec in idx.records[:limit] if limit else idx.records:
        try:
            img = _read_image(rec)
        except EemkitError as err:
            if not skip_bad:
                raise EemkitError(f"{err}; pass --skip-bad to skip unreadable images") from None
            bad += 1
            if log:
                log(f"skipped {rec.path}: {err}")
            continue
        images.append(img[:, :, 0] if img.ndim == 3 and img.shape[2] == 1 else img)
        fine.append(rec.fine)
        names.append(rec.name)
    if bad and log:
        log(f"skipped {bad} unreadable image(s) of split {split!r} (--skip-bad)")
    if not images:
        raise UsageError(f"split {split!r} of {root} has no usable images")
    return images, np.asarray(fine, dtype=np.int64), idx.labels, names
