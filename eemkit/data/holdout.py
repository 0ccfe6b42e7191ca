"""Model selection data for datasets without a validation split, and the sanity checks on a training set.

Selecting the best epoch on the test split is a methodology error (the test score is then optimistic), so
a dataset without a valid split (RAF-DB, a folder of classes, FER+ with FER2013Valid missing) gets one
carved from its training split: a class-stratified, seeded hold-out that the run reports.
"""

from __future__ import annotations

import numpy as np

from eemkit.data.datasets import ImageSet
from eemkit.errors import UsageError

HOLDOUT_FRACTION = 0.1


def holdout_split(train: ImageSet, fraction: float = HOLDOUT_FRACTION, seed: int = 0) -> tuple[ImageSet, ImageSet | None]:
    """(train without the hold-out, hold-out) with round(fraction * n_c) images of each class c held out
    (at least one, and never a class's last image); the hold-out is None when no class has 2 images.
    The same seed gives the same split, so a resumed run trains on the same images."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for c in range(train.labels.n_fine):
        idx = np.flatnonzero(train.fine == c)
        if len(idx) < 2:
            continue
        k = min(len(idx) - 1, max(1, int(round(fraction * len(idx)))))
        held.append(rng.permutation(idx)[:k])
    if not held:
        return train, None
    out = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(len(train)), out)
    return train.subset(keep), train.subset(out)


def require_two_classes(train: ImageSet) -> None:
    """A classifier needs at least two classes with images; one class 'trains' to 100 % and predicts
    that class for every face. Raises UsageError naming the one class."""
    present = [train.labels.fine[c] for c in np.flatnonzero(train.class_counts())]
    if len(present) < 2:
        raise UsageError(f"the training split has images of only {len(present)} class ({', '.join(present) or 'none'}); "
                         "an expression classifier needs at least 2 classes")
