"""The parity check: an exported artifact against its PyTorch checkpoint on the same evaluation images.

Compares predictions (top-1 agreement and top-2 set agreement, after Polygraphy's comparator),
accuracy and average (mean per-class) of both, per-class accuracy differences, max / mean |Δ logit|
and the cosine similarity of the logit vectors, against tolerances per precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.data.datasets import load_split
from eemkit.errors import UsageError
from eemkit.eval.metrics import classification_metrics


@dataclass(frozen=True)
class Tolerance:
    min_agreement: float | None = None  # percent of images with the same top-1 class
    max_acc_drop: float | None = None  # accuracy points
    max_avg_drop: float | None = None  # average (mean per-class) points


DEFAULT_TOLERANCES = {
    "fp32": Tolerance(min_agreement=99.9),
    "fp16": Tolerance(min_agreement=99.5),
    "int8": Tolerance(max_acc_drop=1.0, max_avg_drop=2.0),
    "unknown": Tolerance(min_agreement=99.0),
}


def compare_logits(ref: np.ndarray, got: np.ndarray) -> dict:
    """Agreement and distance statistics between two (N, K) logit arrays."""
    agree = float(100.0 * (ref.argmax(1) == got.argmax(1)).mean())
    k = min(2, ref.shape[1])
    top_r = np.sort(np.argsort(-ref, 1)[:, :k], 1)
    top_g = np.sort(np.argsort(-got, 1)[:, :k], 1)
    d = np.abs(ref - got)
    cos = (ref * got).sum(1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1), 1e-12)
    return {"agreement": agree, f"top{k}_set_agreement": float(100.0 * (top_r == top_g).all(1).mean()),
            "max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()),
            "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min())}


def _check_same_checkpoint(meta: dict, artifact: str | Path, checkpoint: str | Path) -> None:
    """An artifact records the hash of the checkpoint it was exported from; comparing it with another
    checkpoint measures nothing. Foreign models (no hash) are taken as described."""
    from eemkit.train.checkpoint import file_sha256

    want = meta.get("checkpoint_sha256")
    if want and want != file_sha256(checkpoint):
        raise UsageError(f"{artifact} was exported from another checkpoint (sha256 {want[:12]}...), not from "
                         f"{checkpoint} (sha256 {file_sha256(checkpoint)[:12]}...); pass the checkpoint it was exported from")


def check_artifact(artifact: str | Path, checkpoint: str | Path, data: str | Path, fmt: str = "ferplus",
                   split: str = "test", tolerance: Tolerance | None = None, fallback_meta: dict | None = None,
                   limit: int | None = None, skip_bad: bool = False, threads: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Run `artifact` and `checkpoint` on the same split; returns the report with "passed" and "failures"."""
    from eemkit.runtime import open_runner
    from eemkit.runtime.torch_runner import TorchRunner

    art = open_runner(artifact, threads=threads, fallback_meta=fallback_meta)
    _check_same_checkpoint(art.meta, artifact, checkpoint)
    ref = TorchRunner(checkpoint, threads=threads, mirror=bool(art.meta.get("mirror_average", False)))
    if tuple(art.labels.fine) != tuple(ref.labels.fine):
        raise UsageError(f"{artifact} predicts {list(art.labels.fine)} but {checkpoint} predicts {list(ref.labels.fine)}")
    ref_data = load_split(data, fmt, split, ref.spec, skip_bad=skip_bad, limit=limit, progress=progress)
    if tuple(ref_data.labels.fine) != tuple(ref.labels.fine):
        raise UsageError(f"the data has classes {list(ref_data.labels.fine)} but the model has {list(ref.labels.fine)}")
    art_images = ref_data.images if art.spec == ref.spec else load_split(data, fmt, split, art.spec, skip_bad=skip_bad, limit=limit).images
    with ref, art:
        r = ref.infer_prepared(ref_data.images)
        a = art.infer_prepared(art_images)
    names, cidx, cnames = ref.labels.fine, ref.labels.coarse_index, ref.labels.coarse
    m_ref = classification_metrics(ref_data.fine, r["fine_logits"], names, r["coarse_logits"], cidx, cnames)
    m_art = classification_metrics(ref_data.fine, a["fine_logits"], names, a["coarse_logits"], cidx, cnames)
    cmp = compare_logits(r["fine_logits"], a["fine_logits"])
    cmp_coarse = compare_logits(r["coarse_logits"], a["coarse_logits"])
    precision = art.precision if art.precision in DEFAULT_TOLERANCES else "unknown"
    tol = tolerance or DEFAULT_TOLERANCES[precision]
    report = {
        "artifact": str(artifact), "checkpoint": str(checkpoint), "runtime": art.name, "precision": art.precision,
        "split": split, "n": int(len(ref_data)), "tolerance": asdict(tol),
        "reference": {k: m_ref[k] for k in ("accuracy", "average", "coarse_accuracy")},
        "artifact_metrics": {k: m_art[k] for k in ("accuracy", "average", "coarse_accuracy")},
        "accuracy_diff": m_art["accuracy"] - m_ref["accuracy"], "average_diff": m_art["average"] - m_ref["average"],
        "coarse_accuracy_diff": m_art["coarse_accuracy"] - m_ref["coarse_accuracy"],
        "per_class_diff": {c: (None if m_art["per_class"][c] is None else m_art["per_class"][c] - m_ref["per_class"][c])
                           for c in names},
        "fine": cmp, "coarse": cmp_coarse,
    }
    failures = []
    if tol.min_agreement is not None and cmp["agreement"] < tol.min_agreement:
        failures.append(f"top-1 agreement {cmp['agreement']:.2f}% < {tol.min_agreement}%")
    if tol.max_acc_drop is not None and -report["accuracy_diff"] > tol.max_acc_drop:
        failures.append(f"accuracy drop {-report['accuracy_diff']:.2f} > {tol.max_acc_drop} points")
    if tol.max_avg_drop is not None and -report["average_diff"] > tol.max_avg_drop:
        failures.append(f"average drop {-report['average_diff']:.2f} > {tol.max_avg_drop} points")
    report["failures"] = failures
    report["passed"] = not failures
    return report
