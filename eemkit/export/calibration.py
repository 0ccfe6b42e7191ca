"""INT8 calibration sets: class-balanced samples of the training split, described by a manifest.

A manifest (JSON) names the dataset, split, label rule, seed, sampling rule, class set, the
preprocess it was made for and the exact file list, so a calibration set can be rebuilt and reused
(`calibration/` holds the manifests we publish). Its `sha256` keys every calibration cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.data.datasets import Record, _read_image, index_split
from eemkit.data.preprocess import PreprocessSpec, prepare_image
from eemkit.errors import EemkitError, UsageError
from eemkit.labels import LabelSpace

DEFAULT_N = 512
WARN_BELOW = 300


def sample_manifest(data: str | Path, fmt: str, n: int = DEFAULT_N, seed: int = 0, split: str = "train",
                    label_mode: str = "majority", batch: int = 32, warn: Callable[[str], None] | None = None,
                    spec: PreprocessSpec | None = None) -> dict:
    """Pick n images class-balanced (round-robin over classes, random within a class) from `split`.

    Raises UsageError when n is smaller than one batch or the split has fewer than n images.
    """
    if n < batch:
        raise UsageError(f"a calibration set needs at least one batch ({batch} images); got {n}")
    if n < WARN_BELOW and warn:
        warn(f"calibration with {n} images is thin; {DEFAULT_N} (at least {WARN_BELOW}) is recommended")
    idx = index_split(data, fmt, split, label_mode)
    if len(idx.records) < n:
        raise UsageError(f"{split} split has only {len(idx.records)} images, fewer than the {n} asked for")
    rng = np.random.default_rng(seed)
    by_class = [[r for r in idx.records if r.fine == c] for c in range(idx.labels.n_fine)]
    for lst in by_class:
        rng.shuffle(lst)
    chosen: list[Record] = []
    pos = [0] * len(by_class)
    while len(chosen) < n:
        for c, lst in enumerate(by_class):
            if pos[c] < len(lst) and len(chosen) < n:
                chosen.append(lst[pos[c]])
                pos[c] += 1
    counts = {idx.labels.fine[c]: p for c, p in enumerate(pos)}
    files = [r.name for r in chosen]
    manifest = {
        "kind": "eemkit-calibration-manifest", "dataset": str(data), "format": fmt, "split": split,
        "label_mode": label_mode, "seed": seed, "n": n,
        "rule": "class-balanced: round-robin over classes, uniformly random (numpy default_rng(seed)) within each class; "
                "classes with too few images contribute all they have",
        "classes": list(idx.labels.fine), "per_class": counts, "files": files,
        "preprocess": spec.to_dict() if spec is not None else None,
    }
    manifest["sha256"] = manifest_hash(manifest)
    return manifest


def manifest_hash(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k not in ("sha256", "dataset")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def save_manifest(manifest: dict, path: str | Path) -> Path:
    from eemkit.io_utils import atomic_write_text

    return atomic_write_text(path, json.dumps(manifest, indent=1), what="calibration manifest")


def load_manifest(path: str | Path) -> dict:
    p = Path(path)
    try:
        m = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"cannot read calibration manifest {p}: {err}") from None
    if m.get("kind") != "eemkit-calibration-manifest":
        raise UsageError(f"{p} is not an eemkit calibration manifest")
    return m


def load_calibration_images(manifest: dict, labels: LabelSpace, spec: PreprocessSpec, data: str | Path | None = None) -> np.ndarray:
    """Decode the manifest's files into prepared uint8 (N, R, R, C) images for `spec`.

    Raises UsageError when the manifest's class set differs from the model's or a file is missing.
    """
    if list(manifest["classes"]) != list(labels.fine):
        raise UsageError(f"calibration set has classes {manifest['classes']} but the model has {list(labels.fine)}")
    made_for = manifest.get("preprocess")
    if made_for is not None and PreprocessSpec.from_dict(made_for) != spec:
        raise UsageError(f"calibration set was made for {made_for['input_size']} px {made_for['color']} input, "
                         f"the model takes {spec.input_size} px {spec.color}; sample a new one with --data")
    root = data or manifest["dataset"]
    idx = index_split(root, manifest["format"], manifest["split"], manifest["label_mode"], check_files=False)
    by_name = {r.name: r for r in idx.records}
    images = []
    for name in manifest["files"]:
        rec = by_name.get(name)
        if rec is None:
            raise UsageError(f"calibration image {name} is not in {root} ({manifest['split']} split)")
        try:
            images.append(prepare_image(_read_image(rec), spec))
        except EemkitError as err:
            raise UsageError(f"calibration image: {err}") from None
    return np.stack(images)


def check_calibration_images(images: np.ndarray, spec: PreprocessSpec) -> None:
    """Prepared calibration images must match the model's preprocess (size and channels)."""
    want = (spec.resize_size, spec.resize_size, spec.channels)
    if images.ndim != 4 or tuple(images.shape[1:]) != want:
        raise UsageError(f"calibration images are {tuple(images.shape[1:])}, the model expects {want}")


def calibration_labels(manifest: dict, data: str | Path | None = None) -> np.ndarray:
    """The fine label (index in the manifest's classes) of each manifest file, in manifest order, (N,) int64."""
    root = data or manifest["dataset"]
    idx = index_split(root, manifest["format"], manifest["split"], manifest["label_mode"], check_files=False)
    by_name = {r.name: r.fine for r in idx.records}
    return np.asarray([by_name.get(name, -1) for name in manifest["files"]], dtype=np.int64)
