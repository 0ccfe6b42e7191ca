"""Shared fixtures: tiny synthetic datasets in every format (FER+ layout included), tiny trained models;
helpers to copy a real FER+ slice for the few tests that need real faces."""

from __future__ import annotations

import csv
import os
import shutil
import struct
import zlib
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


def expression_like(rng: np.random.Generator, label: int, size: int = 48) -> np.ndarray:
    """A synthetic grey image of one of 8 classes that survives the training augmentation (crop, flip,
    rotation): a bright band at one of 4 heights on a dark (classes 0-3) or a mid-grey (4-7) ground."""
    img = (0 if label < 4 else 100) + rng.integers(0, 30, (size, size))
    row = size // 12 + (label % 4) * (size * 11 // 48)
    img[row:row + size // 8, :] = 230
    return img.astype(np.uint8)


def make_synthetic_ferplus(dst: Path, per_class: dict[str, int] | None = None) -> Path:
    """A tiny dataset in the FER+ layout (FER2013Train/Valid/Test with label.csv vote counts) of
    `expression_like` images: 8 majority classes with a second opinion in the votes (soft targets), and
    two unknown/NF rows per split. Learnable to 100 % in a few dozen steps."""
    from eemkit.data.datasets import FERPLUS_DIRS

    per_class = per_class or {"train": 16, "valid": 6, "test": 8}
    rng = np.random.default_rng(0)
    for split, folder in FERPLUS_DIRS.items():
        if split not in per_class:
            continue
        rows = []
        for i in range(per_class[split] * 8):
            c = i % 8
            votes = [0] * 10
            votes[c], votes[(c + 1) % 8] = 8, 2
            rows.append([f"{split}{i:04d}.png", "(0, 0, 48, 48)", *votes])
            write_png(dst / folder / rows[-1][0], expression_like(rng, c))
        for j in range(2):
            rows.append([f"{split}-unknown{j}.png", "(0, 0, 48, 48)", 0, 0, 0, 0, 0, 0, 0, 0, 10, 0])
            write_png(dst / folder / rows[-1][0], expression_like(rng, j))
        with open(dst / folder / "label.csv", "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return dst


@pytest.fixture(scope="session")
def ferplus_slice(tmp_path_factory) -> Path:
    """A FER+-layout dataset for the train/export/bench/demo tests. Synthetic, so the suite means the
    same with or without the real data in ../shared (`make_ferplus_slice` copies real images)."""
    return make_synthetic_ferplus(tmp_path_factory.mktemp("ferplus") / "ferplus")


@pytest.fixture
def read_only_dir(tmp_path, monkeypatch) -> Path:
    """A folder that behaves as on a read-only file system, even for root: os.access denies writing
    and mkdir below it fails with EROFS."""
    import errno

    ro = tmp_path / "read-only"
    ro.mkdir()
    real_access, real_mkdir = os.access, Path.mkdir

    def access(p, mode, *a, **k):
        return False if str(p).startswith(str(ro)) and mode & os.W_OK else real_access(p, mode, *a, **k)

    def mkdir(self, *a, **k):
        if str(self).startswith(str(ro) + os.sep):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    return ro


def face_like(rng: np.random.Generator, label: int, size: int = 48, rgb: bool = False) -> np.ndarray:
    """A synthetic image whose pattern depends on the label (learnable, not a face)."""
    img = rng.integers(0, 40, (size, size), dtype=np.uint8)
    img[(label * 5) % size:(label * 5) % size + 6, :] = 220
    if rgb:
        return np.stack([img, img // 2, 255 - img], axis=2)
    return img


def huge_png(path):
    """A valid PNG header announcing 60000 x 60000 pixels (over OpenCV's CV_IO_MAX_IMAGE_PIXELS)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def write_png(path: Path, img: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img if img.ndim == 2 else img[:, :, ::-1])


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory, ferplus_slice) -> Path:
    """A tiny ResNet-18 student (input 32 px, no crop: a foreign-model description of it is exact) trained
    for 32 steps on the synthetic FER+ set, to 100 % on its test split with wide margins, so FP16 and INT8
    parity hold and a perturbed artifact fails."""
    from eemkit.config import resolve_config
    from eemkit.train.loop import train

    out = tmp_path_factory.mktemp("tiny_student")
    cfg = resolve_config(None, [{"stage": "student", "out": str(out), "data": {"path": str(ferplus_slice),
                                                                              "input_size": 32, "crop_pct": 1.0},
                                 "loss": {"loss": "ce", "distill": False},
                                 "optim": {"epochs": 2, "batch_size": 8, "lr": 1e-3, "probe_every": 0}}])
    train(cfg)
    return out / "best.pt"


@pytest.fixture(scope="session")
def astronaut_clip(tmp_path_factory) -> Path:
    """A 6-frame clip of a real face (scikit-image's astronaut photo) that the Haar cascade finds."""
    from skimage import data

    from eemkit.demo.synthetic import make_face_video

    return make_face_video(tmp_path_factory.mktemp("clip") / "astronaut.mp4", [data.astronaut()[0:240, 105:345]],
                           n_frames=6, face_px=300)
