"""Per-split, per-class counts (fine and coarse) and the imbalance ratio of a dataset on disk."""

from __future__ import annotations

from pathlib import Path

from eemkit.data.datasets import available_splits, index_split
from eemkit.labels import FINE_TO_COARSE


def dataset_stats(root: str | Path, fmt: str, label_mode: str = "majority", check_files: bool = True) -> dict:
    """{"format", "root", "label_mode", "splits": {split: {n, fine, coarse, excluded, imbalance}}}.

    imbalance = largest / smallest class count over the classes of the label space (inf if one is empty).
    """
    from eemkit.data.datasets import FORMATS, _require_dir
    from eemkit.errors import UsageError

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt != "fer2013" or Path(root).is_dir() or not Path(root).exists():
        _require_dir(Path(root))
    splits = available_splits(root, fmt)
    if not splits:
        raise UsageError(f"{root} holds no {fmt} split folders")
    out: dict = {"format": fmt, "root": str(root), "label_mode": label_mode, "splits": {}}
    for split in splits:
        idx = index_split(root, fmt, split, label_mode, check_files=check_files)
        fine = {c: 0 for c in idx.labels.fine}
        for r in idx.records:
            fine[idx.labels.fine[r.fine]] += 1
        coarse = {c: 0 for c in idx.labels.coarse}
        for name, n in fine.items():
            coarse[FINE_TO_COARSE[name]] += n
        lo, hi = min(fine.values()), max(fine.values())
        out["splits"][split] = {
            "n": len(idx.records), "fine": fine, "coarse": coarse, "excluded": dict(idx.excluded),
            "imbalance": (hi / lo) if lo > 0 else float("inf"),
        }
    return out
