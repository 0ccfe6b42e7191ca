"""The parity check: an exported artifact against its PyTorch checkpoint on the same evaluation images.

Compares predictions (top-1 agreement and top-2 set agreement, after Polygraphy's comparator),
accuracy and average (mean per-class) of both, per-class accuracy differences, max / mean |Δ logit|
and the cosine similarity of the logit vectors, against tolerances per precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from eemkit.data.datasets import load_split
from eemkit.artifact import ArtifactMeta
from eemkit.errors import UsageError
from eemkit.metrics import classification_metrics


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


def resolve_tolerance(precision: str, overrides: Mapping[str, float | None] | None = None) -> Tolerance:
    """The default tolerance of the artifact's real `precision` (fp32 | fp16 | int8; anything else: the
    "unknown" rule), with the non-None `overrides` (min_agreement, max_acc_drop, max_avg_drop) replacing its
    fields. Raises UsageError for an override key that is not a tolerance field."""
    base = DEFAULT_TOLERANCES.get(precision, DEFAULT_TOLERANCES["unknown"])
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    bad = sorted(set(given) - set(asdict(base)))
    if bad:
        raise UsageError(f"unknown tolerance {bad[0]!r}; choose from: {', '.join(asdict(base))}")
    return replace(base, **given)


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


def check_artifact(artifact: str | Path, checkpoint: str | Path, data: str | Path, fmt: str = "ferplus",
                   split: str = "test", tolerance: Tolerance | None = None, fallback_meta: ArtifactMeta | None = None,
                   limit: int | None = None, skip_bad: bool = False, threads: int | None = None,
                   progress: Callable[[int, int], None] | None = None, device: str = "cpu",
                   overrides: Mapping[str, float | None] | None = None) -> dict:
    """Run `artifact` and `checkpoint` on the same split; returns the report with "passed" and "failures".
    `tolerance` replaces the default of the artifact's precision; `overrides` replace some of its fields.
    Raises UsageError when the artifact's metadata names another checkpoint (by hash) or other classes."""
    from eemkit.runtime import open_runner
    from eemkit.runtime.torch_runner import TorchRunner
    from eemkit.hashing import file_sha256

    art = open_runner(artifact, device=device, threads=threads, fallback_meta=fallback_meta)
    ref = TorchRunner(checkpoint, threads=threads, mirror=art.meta.mirror_average)
    made_from = art.meta.checkpoint_sha256
    if made_from and made_from != file_sha256(checkpoint):
        raise UsageError(f"{artifact} was exported from another checkpoint (sha256 {made_from[:12]}...) than "
                         f"{checkpoint}; pass the checkpoint it came from")
    if tuple(art.labels.fine) != tuple(ref.labels.fine):
        raise UsageError(f"{artifact} predicts {list(art.labels.fine)} but {checkpoint} predicts {list(ref.labels.fine)}")
    ref_data = load_split(data, fmt, split, ref.spec, skip_bad=skip_bad, limit=limit, progress=progress)
    if tuple(ref_data.labels.fine) != tuple(ref.labels.fine):
        raise UsageError(f"the data has classes {list(ref_data.labels.fine)} but the model has {list(ref.labels.fine)}")
    art_images = ref_data.images if art.spec == ref.spec else load_split(data, fmt, split, art.spec, skip_bad=skip_bad, limit=limit).images
    with ref, art:
        r = ref.infer_prepared(ref_data.images)
        a = art.infer_prepared(art_images)
    head = {"artifact": str(artifact), "checkpoint": str(checkpoint), "runtime": art.name, "precision": art.precision,
            "split": split}
    return parity_report(head, r, a, ref_data.fine, ref.labels, art.precision, tolerance, overrides)


def parity_report(head: dict, r: dict, a: dict, y: np.ndarray | None, labels, precision: str,
                  tolerance: Tolerance | None = None, overrides: Mapping[str, float | None] | None = None) -> dict:
    """Compare reference outputs `r` with the artifact's `a` ({"fine_logits", "coarse_logits"}) on the same
    images; `y`: labels (index in `labels.fine`, -1 unknown) or None. Accuracy tolerances need labels: without
    them the report says so and fails rather than pass untested. The tolerance: `tolerance`, else the default of
`precision` with `overrides` applied (resolve_tolerance)."""
    names, cidx, cnames = labels.fine, labels.coarse_index, labels.coarse
    tol = tolerance or resolve_tolerance(precision, overrides)
    report = dict(head, n=int(len(r["fine_logits"])), tolerance=asdict(tol),
                  fine=compare_logits(r["fine_logits"], a["fine_logits"]),
                  coarse=compare_logits(r["coarse_logits"], a["coarse_logits"]))
    failures = []
    labelled = y is not None and len(y) > 0 and bool((np.asarray(y) >= 0).all())
    if labelled:
        m_ref = classification_metrics(y, r["fine_logits"], names, r["coarse_logits"], cidx, cnames)
        m_art = classification_metrics(y, a["fine_logits"], names, a["coarse_logits"], cidx, cnames)
        keys = ("accuracy", "average", "coarse_accuracy")
        report.update(reference={k: m_ref[k] for k in keys}, artifact_metrics={k: m_art[k] for k in keys},
                      accuracy_diff=m_art["accuracy"] - m_ref["accuracy"], average_diff=m_art["average"] - m_ref["average"],
                      coarse_accuracy_diff=m_art["coarse_accuracy"] - m_ref["coarse_accuracy"],
                      per_class_diff={c: (None if m_art["per_class"][c] is None else m_art["per_class"][c] - m_ref["per_class"][c])
                                      for c in names})
        if tol.max_acc_drop is not None and -report["accuracy_diff"] > tol.max_acc_drop:
            failures.append(f"accuracy drop {-report['accuracy_diff']:.2f} > {tol.max_acc_drop} points")
        if tol.max_avg_drop is not None and -report["average_diff"] > tol.max_avg_drop:
            failures.append(f"average drop {-report['average_diff']:.2f} > {tol.max_avg_drop} points")
    elif tol.min_agreement is None:
        failures.append(f"the {precision} tolerances are accuracy drops, which need labelled images: pass --data, "
                        "or --min-agreement for an agreement-only check")
    agree = report["fine"]["agreement"]
    if tol.min_agreement is not None and agree < tol.min_agreement:
        failures.append(f"top-1 agreement {agree:.2f}% < {tol.min_agreement}%")
    report["failures"] = failures
    report["passed"] = not failures
    return report
