"""What predict writes: annotated images under names that never collide, and the CSV of face records."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import numpy as np

from eemkit.errors import EemkitError
from eemkit.io_utils import atomic_open, atomic_write_bytes


def annotated_names(files: list[Path], video_exts: set[str]) -> dict[Path, Path]:
    """Output path of each input, relative to the annotation folder: its folder below the inputs' common
    folder, then `<stem>.annotated.png|mp4`, or `<name>.annotated...` where two inputs of one folder share a
    stem. So a/img0.png and b/img0.png give a/img0.annotated.png and b/img0.annotated.png."""
    parents = [f.resolve().parent for f in files]
    root = Path(os.path.commonpath([str(p) for p in parents]))
    rel = [p.relative_to(root) for p in parents]
    stems = Counter((r, f.stem) for r, f in zip(rel, files))
    names = {}
    for r, f in zip(rel, files):
        base = f.stem if stems[(r, f.stem)] == 1 else f.name
        names[f] = r / f"{base}.annotated{'.mp4' if f.suffix.lower() in video_exts else '.png'}"
    return names


def write_image(path: Path, rgb: np.ndarray) -> Path:
    """An RGB image as PNG, atomically (its folder is created)."""
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise EemkitError(f"cannot encode the annotated image {path}")
    make_parent(path)
    return atomic_write_bytes(path, buf.tobytes(), what="annotated image")


def make_parent(path: Path) -> None:
    """Create the folder of an output file; EemkitError (that file is skipped, the others go on) when a
    file stands where a folder must be, or the folder cannot be created."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EemkitError(f"cannot create the folder of {path}: {err.strerror or type(err).__name__}"
                          + (" (a file of that name is in the way)" if isinstance(err, (FileExistsError, NotADirectoryError)) else "")) from None


def write_records_csv(records: list[dict], path: str | Path) -> Path:
    """One row per face: file, frame, box, track, labels and both probability vectors (atomically):
    p_<fine class> and pc_<coarse group> (fine and coarse share names such as neutral and surprise)."""
    fine = list(records[0]["fine_probs"]) if records else []
    coarse = list(records[0]["coarse_probs"]) if records else []
    with atomic_open(path, "w", newline="", what="CSV") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "frame", "x", "y", "w", "h", "track", "fine_label", "fine_conf", "coarse_label",
                    *[f"p_{c}" for c in fine], *[f"pc_{c}" for c in coarse]])
        for r in records:
            w.writerow([r["file"], r["frame"], *r["box"], r["track"], r["fine_label"], f"{r['fine_conf']:.4f}", r["coarse_label"],
                        *[f"{r['fine_probs'][c]:.4f}" for c in fine], *[f"{r['coarse_probs'][c]:.4f}" for c in coarse]])
    return Path(path)
