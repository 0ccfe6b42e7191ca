"""reference.npz: saved inputs and PyTorch outputs written beside the artifacts at export, so that
`eemkit check ARTIFACT --reference reference.npz` proves an artifact on the device with neither torch,
the checkpoint nor the dataset (after Polygraphy's saved-outputs comparison).

Arrays: images (N, R, R, C) uint8, prepared at the model's resize size (each runtime applies its own
input step); fine_logits (N, K) and coarse_logits (N, 4) float32, PyTorch's raw outputs; labels (N,) int64
(-1: unknown). meta: a JSON string with classes, coarse_classes, preprocess, checkpoint_sha256,
source ("calibration": the first images of the calibration set, or "synthetic": seeded patterns when
the export had no calibration data) and n.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eemkit.data.preprocess import PreprocessSpec, eval_input
from eemkit.artifact import ArtifactMeta
from eemkit.errors import UsageError

REFERENCE_N = 256  # enough for a top-1 agreement to 0.4 %, 1.3 MB at 71 px grey
KEYS = ("images", "fine_logits", "coarse_logits", "labels", "meta")


def synthetic_images(spec: PreprocessSpec, n: int = REFERENCE_N, seed: int = 0) -> np.ndarray:
    """Seeded smooth random patterns, uint8 (n, R, R, C): inputs for a parity check when no data is at hand."""
    import cv2

    rng = np.random.default_rng(seed)
    r = spec.resize_size
    out = np.empty((n, r, r, spec.channels), np.uint8)
    for i in range(n):
        coarse = rng.integers(0, 256, (6, 6, spec.channels), dtype=np.uint8).astype(np.float32)
        img = cv2.resize(coarse, (r, r), interpolation=cv2.INTER_CUBIC).reshape(r, r, spec.channels)
        out[i] = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    return out


def write_reference(model, images: np.ndarray, labels: np.ndarray | None, meta: dict, path: str | Path,
                    source: str, batch: int = 64) -> Path:
    """Run the PyTorch `model` (eval mode, CPU) on prepared uint8 `images` and save reference.npz. An artifact
    exported with mirror averaging (meta "mirror_average") is referenced by the mean of image and mirror."""
    import torch

    from eemkit.models.eem import logits_of, mirror_average

    spec = PreprocessSpec.from_dict(meta["preprocess"])
    mirror = bool(meta.get("mirror_average", False))
    model.eval()
    fine, coarse = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(eval_input(images[i:i + batch], spec))
            f, c = mirror_average(model, x) if mirror else logits_of(model(x))
            fine.append(f.float().numpy())
            coarse.append(c.float().numpy())
    return save_reference(path, images, np.concatenate(fine), np.concatenate(coarse), labels, meta, source)


def save_reference(path: str | Path, images: np.ndarray, fine: np.ndarray, coarse: np.ndarray,
                   labels: np.ndarray | None, meta: ArtifactMeta | dict, source: str) -> Path:
    """Write reference.npz from outputs already computed (`meta`: the artifact metadata they belong to)."""
    if isinstance(meta, ArtifactMeta):
        meta = meta.to_dict()
    info = {k: meta.get(k) for k in ("classes", "coarse_classes", "coarse_index", "preprocess", "checkpoint_sha256")}
    info.update(source=source, n=int(len(images)), kind="eemkit-reference")
    y = np.full(len(images), -1, np.int64) if labels is None else np.asarray(labels, np.int64)
    p = Path(path)
    from eemkit.io_utils import atomic_open

    with atomic_open(p, "wb", what="reference") as fh:  # a file object: savez adds no .npz suffix
        np.savez_compressed(fh, images=images, fine_logits=np.asarray(fine, np.float32),
                            coarse_logits=np.asarray(coarse, np.float32), labels=y, meta=np.asarray(json.dumps(info)))
    return p


def load_reference(path: str | Path) -> dict:
    """The arrays and meta dict of a reference.npz; UsageError for a file that is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in KEYS}
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"{path} is not an eemkit reference.npz ({type(err).__name__}: {err})") from None
    d["meta"] = json.loads(str(d["meta"]))
    if d["meta"].get("kind") != "eemkit-reference":
        raise UsageError(f"{path} is not an eemkit reference.npz (no eemkit-reference meta)")
    return d
