"""Parity on the device, without torch, the checkpoint or (optionally) the dataset: an artifact against
the saved PyTorch outputs of reference.npz, or against another model in another runtime (after
Polygraphy's `run --load-outputs` and its runtime-vs-runtime comparison). Same report, tolerances and
verdict as the checkpoint parity check (eemkit.eval.parity)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from eemkit.artifact import ArtifactMeta
from eemkit.errors import UsageError
from eemkit.eval.parity import Tolerance, parity_report


def _same_model_family(art, classes: list[str], sha: str | None, what: str) -> None:
    if list(art.labels.fine) != list(classes):
        raise UsageError(f"{art.path} predicts {list(art.labels.fine)} but {what} has {list(classes)}")
    made_from = art.meta.checkpoint_sha256
    if made_from and sha and made_from != sha:
        raise UsageError(f"{art.path} was exported from another checkpoint (sha256 {made_from[:12]}...) than {what} "
                         f"({sha[:12]}...): compare artifacts of the same export")


def _checkpoint_hash(art, checkpoint: str | Path | None) -> None:
    """The artifact's recorded checkpoint hash against --checkpoint, when both are there."""
    if checkpoint is not None:
        from eemkit.hashing import file_sha256

        _same_model_family(art, list(art.labels.fine), file_sha256(checkpoint), str(checkpoint))


def check_reference(artifact: str | Path, reference: str | Path, data: str | Path | None = None, fmt: str = "ferplus",
                    split: str = "test", tolerance: Tolerance | None = None, limit: int | None = None,
                    threads: int | None = None, device: str = "cpu", checkpoint: str | Path | None = None,
                    fallback_meta: ArtifactMeta | None = None, overrides: Mapping[str, float | None] | None = None) -> dict:
    """Compare `artifact` with `reference`: a reference.npz (its images, labels and PyTorch outputs) or another
    model file (.onnx / .engine / .pt) run on `data`'s split, or without data on seeded synthetic images
    (agreement only). Tolerance: `tolerance`, else the default of the artifact's precision with `overrides`.
    Returns the parity report ("passed", "failures"); UsageError for mismatched classes,
    preprocessing or checkpoint hashes."""
    from eemkit.runtime import open_runner

    art = open_runner(artifact, device=device, threads=threads, fallback_meta=fallback_meta)
    _checkpoint_hash(art, checkpoint)
    ref_path = Path(reference)
    head = {"artifact": str(artifact), "checkpoint": str(reference), "runtime": art.name, "precision": art.precision}
    if ref_path.suffix.lower() == ".npz":
        from eemkit.data.preprocess import PreprocessSpec
        from eemkit.export.reference import load_reference

        ref = load_reference(ref_path)
        meta = ref["meta"]
        _same_model_family(art, meta["classes"], meta.get("checkpoint_sha256"), str(ref_path))
        if PreprocessSpec.from_dict(meta["preprocess"]) != art.spec:
            raise UsageError(f"{ref_path} was made for another preprocessing than {artifact}'s; use the reference.npz of its export")
        n = limit or len(ref["images"])
        with art:
            a = art.infer_prepared(ref["images"][:n], raw=True)
        r = {"fine_logits": ref["fine_logits"][:n], "coarse_logits": ref["coarse_logits"][:n]}
        return parity_report(dict(head, split=f"{meta['source']} images of {ref_path.name}"), r, a, ref["labels"][:n],
                             art.labels, art.precision, tolerance, overrides)
    other = open_runner(ref_path, threads=threads)
    _same_model_family(art, list(other.labels.fine), other.meta.checkpoint_sha256, str(ref_path))
    images, y, where = _comparison_images(art, other, data, fmt, split, limit)
    with art, other:
        a = art.infer_prepared(images[0], raw=True)
        r = other.infer_prepared(images[1], raw=True)
    head.update(split=where, reference_runtime=other.name, reference_precision=other.precision)
    return parity_report(head, r, a, y, art.labels, art.precision, tolerance, overrides)


def _comparison_images(art, other, data, fmt: str, split: str, limit: int | None):
    """((images for art, images for other), labels or None, description): the split of `data` prepared for
    each model's preprocessing, or seeded synthetic images when no data is given."""
    if data is None:
        from eemkit.export.reference import synthetic_images

        if art.spec != other.spec:
            raise UsageError("the two models preprocess differently: pass --data to compare them on real images")
        imgs = synthetic_images(art.spec, n=limit or 256)
        return (imgs, imgs), None, f"{len(imgs)} synthetic images"
    from eemkit.data.datasets import load_split

    d = load_split(data, fmt, split, art.spec, limit=limit)
    if list(d.labels.fine) != list(art.labels.fine):
        raise UsageError(f"the data has classes {list(d.labels.fine)} but the models have {list(art.labels.fine)}")
    other_images = d.images if other.spec == art.spec else load_split(data, fmt, split, other.spec, limit=limit).images
    return (d.images, other_images), np.asarray(d.fine), split
