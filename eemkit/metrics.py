"""The one metrics module: accuracy, average (mean per-class accuracy), coarse accuracy, per-class
accuracy and the confusion matrix (METHOD.md, "Metrics")."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) int64 counts, rows = true class, columns = predicted class."""
    return np.bincount(np.asarray(y_true) * n + np.asarray(y_pred), minlength=n * n).reshape(n, n)


def classification_metrics(y_true: np.ndarray, fine_logits: np.ndarray, class_names: Sequence[str],
                           coarse_logits: np.ndarray | None = None, coarse_index: Sequence[int] | None = None,
                           coarse_names: Sequence[str] | None = None) -> dict:
    """Metrics of fine (and, given coarse logits and the map, coarse) predictions, in percent.

    average is the mean of the per-class accuracies over classes present in y_true.
    """
    y_true = np.asarray(y_true)
    n = len(class_names)
    pred = np.asarray(fine_logits).argmax(1)
    cm = confusion_matrix(y_true, pred, n)
    support = cm.sum(1)
    per_class = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    out = {
        "n": int(y_true.size),
        "accuracy": float(100.0 * (pred == y_true).mean()) if y_true.size else float("nan"),
        "average": float(100.0 * np.nanmean(per_class)) if (support > 0).any() else float("nan"),
        "per_class": {c: (None if np.isnan(a) else float(100 * a)) for c, a in zip(class_names, per_class)},
        "support": {c: int(s) for c, s in zip(class_names, support)},
        "confusion": cm.tolist(),
        "classes": list(class_names),
    }
    if coarse_logits is not None and coarse_index is not None:
        yc = np.asarray(coarse_index)[y_true]
        pc = np.asarray(coarse_logits).argmax(1)
        out["coarse_accuracy"] = float(100.0 * (pc == yc).mean()) if y_true.size else float("nan")
        if coarse_names is not None:
            out["coarse_confusion"] = confusion_matrix(yc, pc, len(coarse_names)).tolist()
            out["coarse_classes"] = list(coarse_names)
    return out


def save_confusion_png(cm: Sequence[Sequence[int]], names: Sequence[str], path: str, title: str = "") -> None:
    """Row-normalised confusion matrix as a PNG (counts and percentages in the cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.8 * len(names)), dpi=120)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{100 * norm[i, j]:.0f}%\n{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    from eemkit.io_utils import save_figure

    save_figure(fig, path)
    plt.close(fig)
