"""Evaluate a PyTorch model or checkpoint on a dataset split with the shared preprocess and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from eemkit.data.datasets import ImageSet, load_split
from eemkit.data.preprocess import PreprocessSpec, to_model_input
from eemkit.errors import UsageError
from eemkit.eval.metrics import classification_metrics, save_confusion_png
from eemkit.labels import LabelSpace


@torch.no_grad()
def torch_logits(model: torch.nn.Module, images: np.ndarray, spec: PreprocessSpec, batch: int = 256,
                 channels_last: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fine and coarse logits (N, n_fine), (N, 4) of `model` on prepared uint8 images (N, R, R, C)."""
    model.eval()
    device = next(model.parameters()).device
    fine, coarse = [], []
    for i in range(0, len(images), batch):
        x = to_model_input(torch.from_numpy(images[i:i + batch]), spec).to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = model(x)
        fine.append(out["fine_logits"].float().cpu().numpy())
        coarse.append(out["coarse_logits"].float().cpu().numpy())
    return np.concatenate(fine), np.concatenate(coarse)


def check_same_classes(model_labels: LabelSpace, data_labels: LabelSpace, what: str = "the model") -> None:
    if tuple(model_labels.fine) != tuple(data_labels.fine):
        raise UsageError(
            f"{what} was trained on classes {list(model_labels.fine)} but the data has {list(data_labels.fine)}"
        )


def evaluate_imageset(model: torch.nn.Module, data: ImageSet, labels: LabelSpace, batch: int = 256) -> dict:
    fine, coarse = torch_logits(model, data.images, data.spec, batch)
    return classification_metrics(data.fine, fine, labels.fine, coarse, labels.coarse_index, labels.coarse)


def evaluate_checkpoint(ckpt_path: str | Path, data_path: str | Path, fmt: str, split: str = "test",
                        label_mode: str = "majority", batch: int = 256, out_dir: str | Path | None = None,
                        skip_bad: bool = False, progress: Callable[[int, int], None] | None = None) -> dict:
    """Metrics of a checkpoint on one split; with out_dir, writes confusion.png and metrics.json there."""
    import json

    from eemkit.train.checkpoint import build_from_checkpoint

    model, ckpt = build_from_checkpoint(ckpt_path)
    labels = LabelSpace.from_dict(ckpt["labels"])
    spec = PreprocessSpec.from_dict(ckpt["preprocess"])
    data = load_split(data_path, fmt, split, spec, label_mode, skip_bad=skip_bad, progress=progress)
    check_same_classes(labels, data.labels)
    metrics = evaluate_imageset(model, data, labels, batch)
    metrics.update({"checkpoint": str(ckpt_path), "split": split, "format": fmt, "label_mode": label_mode})
    if out_dir is not None:
        from eemkit.io_utils import atomic_write_text, ensure_dir

        out = ensure_dir(out_dir, "--out")
        save_confusion_png(metrics["confusion"], labels.fine, str(out / "confusion.png"),
                           f"{Path(ckpt_path).name} on {split}: acc {metrics['accuracy']:.2f}%  avg {metrics['average']:.2f}%")
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2), what="metrics")
        metrics["confusion_png"] = str(out / "confusion.png")
    return metrics


def evaluate_model(model_path: str | Path, data_path: str | Path, fmt: str, split: str = "test",
                   priors: tuple[str, ...] = ("train", "uniform"), robustness: tuple[str, ...] | None = None,
                   out_dir: str | Path | None = None, skip_bad: bool = False, limit: int | None = None,
                   threads: int | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Metrics of any model eemkit runs (checkpoint, ONNX, engine) on one split, at each class prior
    (`priors`; "uniform" is skipped with a note for a model that records no training prior), and with
    `robustness` conditions (eemkit.eval.robustness.CONDITIONS) the robustness table.

    With out_dir, writes metrics.json, confusion-<prior>.png and robustness.png there."""
    import json

    from eemkit.data.datasets import read_split_images
    from eemkit.eval.robustness import CONDITIONS, plot_robustness
    from eemkit.eval.robustness import robustness as run_robustness
    from eemkit.runtime import open_runner

    images, y, data_labels, _ = read_split_images(data_path, fmt, split, skip_bad=skip_bad, limit=limit)
    res: dict = {"model": str(model_path), "split": split, "format": fmt, "priors": {}, "notes": []}
    with open_runner(model_path, threads=threads) as runner:
        check_same_classes(runner.labels, data_labels, str(model_path))
        usable = []
        for p in priors:
            try:
                runner.set_class_prior(p)
            except UsageError as err:
                res["notes"].append(str(err))
                continue
            usable.append(p)
        runner.set_class_prior("train")
        raw = runner.infer_images(images, raw=True)
        labels = runner.labels
        for p in usable:
            runner.set_class_prior(p)
            out = runner.postprocess(raw)
            res["priors"][p] = classification_metrics(y, out["fine_logits"], labels.fine, out["coarse_logits"],
                                                      labels.coarse_index, labels.coarse)
        runner.set_class_prior("train")
        if robustness is not None:
            rows = run_robustness(runner, images, y, list(robustness) or list(CONDITIONS), usable, progress=progress)
            res["robustness"] = [r.to_dict() for r in rows]
    res.update({k: v for k, v in res["priors"][usable[0]].items()})  # the first prior's figures at the top level
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for p, m in res["priors"].items():
            save_confusion_png(m["confusion"], labels.fine, str(out / f"confusion-{p}.png"),
                               f"{Path(model_path).name} on {split}, {p} prior: acc {m['accuracy']:.2f}%  avg {m['average']:.2f}%")
        if robustness is not None:
            plot_robustness(rows, str(out / "robustness.png"), f"{Path(model_path).name} on {fmt} {split}")
            res["robustness_png"] = str(out / "robustness.png")
        (out / "metrics.json").write_text(json.dumps(res, indent=2))
    return res
