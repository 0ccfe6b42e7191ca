"""Shared fixtures: a real FER+ slice, tiny synthetic datasets in every format, tiny trained models."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep INT8 caches of the test run out of the user's ~/.cache/eemkit."""
    old = os.environ.get("EEMKIT_CACHE")
    os.environ["EEMKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("EEMKIT_CACHE", None)
    else:
        os.environ["EEMKIT_CACHE"] = old
FERPLUS = Path(os.environ.get("EEMKIT_DATA", ROOT.parent / "shared" / "data" / "ferplus"))
CLASSES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]


def need_ferplus() -> Path:
    if not (FERPLUS / "FER2013Train" / "label.csv").is_file():
        pytest.skip(f"FER+ not found at {FERPLUS} (set EEMKIT_DATA)")
    return FERPLUS


def make_ferplus_slice(dst: Path, per_class: int = 6, extra_unknown: bool = True) -> Path:
    """Copy a few real FER+ images per majority class of each split into a FER+-layout folder."""
    src = need_ferplus()
    from eemkit.data.datasets import FERPLUS_DIRS, ferplus_label

    for split, folder in FERPLUS_DIRS.items():
        (dst / folder).mkdir(parents=True)
        taken = {c: 0 for c in range(8)}
        rows, unknown = [], 0
        with open(src / folder / "label.csv", newline="") as fh:
            for row in csv.reader(fh):
                votes = np.array([int(x) for x in row[2:]])
                fine, _, why = ferplus_label(votes, "majority")
                keep = (fine is not None and taken[fine] < per_class) or (why == "unknown/NF" and extra_unknown and unknown < 2)
                if keep:
                    unknown += why == "unknown/NF"
                    if fine is not None:
                        taken[fine] += 1
                    rows.append(row)
                    shutil.copyfile(src / folder / row[0], dst / folder / row[0])
                if all(v >= per_class for v in taken.values()):
                    break
        with open(dst / folder / "label.csv", "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return dst


@pytest.fixture(scope="session")
def ferplus_slice(tmp_path_factory) -> Path:
    return make_ferplus_slice(tmp_path_factory.mktemp("ferplus") / "ferplus")


def face_like(rng: np.random.Generator, label: int, size: int = 48, rgb: bool = False) -> np.ndarray:
    """A synthetic image whose pattern depends on the label (learnable, not a face)."""
    img = rng.integers(0, 40, (size, size), dtype=np.uint8)
    img[(label * 5) % size:(label * 5) % size + 6, :] = 220
    if rgb:
        return np.stack([img, img // 2, 255 - img], axis=2)
    return img


def write_png(path: Path, img: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img if img.ndim == 2 else img[:, :, ::-1])


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory, ferplus_slice) -> Path:
    """A tiny ResNet-18 student trained for a few steps on the FER+ slice (input 32 px)."""
    from eemkit.config import resolve_config
    from eemkit.train.loop import train

    out = tmp_path_factory.mktemp("tiny_student")
    cfg = resolve_config(None, [{"stage": "student", "out": str(out), "data": {"path": str(ferplus_slice), "input_size": 32},
                                 "loss": {"loss": "ce", "distill": False},
                                 "optim": {"epochs": 1, "batch_size": 8, "lr": 1e-3, "probe_every": 0}}])
    train(cfg)
    return out / "best.pt"
