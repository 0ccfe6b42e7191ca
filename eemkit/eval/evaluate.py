"""Evaluate a PyTorch model or checkpoint on a dataset split with the shared preprocess and metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.data.datasets import load_split
from eemkit.data.preprocess import PreprocessSpec
from eemkit.errors import UsageError
from eemkit.metrics import classification_metrics, save_confusion_png
from eemkit.runtime.faces import FaceDetector
from eemkit.labels import LabelSpace, check_same_classes
from eemkit.priors import choice_name, is_builtin


def evaluate_checkpoint(ckpt_path: str | Path, data_path: str | Path, fmt: str, split: str = "test",
                        label_mode: str = "majority", batch: int = 256, out_dir: str | Path | None = None,
                        skip_bad: bool = False, progress: Callable[[int, int], None] | None = None) -> dict:
    """Metrics of a checkpoint on one split; with out_dir, writes confusion.png and metrics.json there."""
    import json

    from eemkit.artifact import Checkpoint
    from eemkit.models import build_model
    from eemkit.train.validate import evaluate_imageset

    ckpt = Checkpoint.load(ckpt_path)
    model = build_model(ckpt)
    labels = ckpt.label_space
    spec = PreprocessSpec.from_dict(ckpt.preprocess)
    data = load_split(data_path, fmt, split, spec, label_mode, skip_bad=skip_bad, progress=progress)
    check_same_classes(labels, data.labels)
    from eemkit.priors import prior_shift

    # at the train operating point, as the runtimes score the checkpoint (differs from the raw logits only
    # for a model trained with logit adjustment)
    metrics = evaluate_imageset(model, data, labels, batch, shift=prior_shift(ckpt.meta(), "train"))
    metrics.update({"checkpoint": str(ckpt_path), "split": split, "format": fmt, "label_mode": label_mode})
    if out_dir is not None:
        from eemkit.io_utils import atomic_write_text, ensure_dir

        out = ensure_dir(out_dir, "--out")
        save_confusion_png(metrics["confusion"], labels.fine, str(out / "confusion.png"),
                           f"{Path(ckpt_path).name} on {split}: acc {metrics['accuracy']:.2f}%  avg {metrics['average']:.2f}%")
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2), what="metrics")
        metrics["confusion_png"] = str(out / "confusion.png")
    return metrics


def class_subset(model_labels: LabelSpace, data_labels: LabelSpace, what: str = "the model") -> np.ndarray:
    """Index in the model's classes of each of the data's classes (names already canonical, so happy/
    sad/angry folders match happiness/sadness/anger). Raises UsageError when the data has a class the
    model does not predict."""
    extra = [c for c in data_labels.fine if c not in model_labels.fine]
    if extra:
        raise UsageError(f"the data has classes {extra} that {what} does not predict; its classes are {list(model_labels.fine)}")
    return np.asarray([model_labels.fine.index(c) for c in data_labels.fine], dtype=np.int64)


def restrict(out: dict[str, np.ndarray], labels: LabelSpace, present: np.ndarray) -> dict[str, np.ndarray]:
    """Logits with every class (and coarse group) absent from the data set to -inf, so the argmax runs
    over the present classes only: the score of a model on a folder holding some of its classes."""
    fine = np.full_like(out["fine_logits"], -np.inf)
    fine[:, present] = out["fine_logits"][:, present]
    groups = sorted({labels.coarse_index[i] for i in present})
    coarse = np.full_like(out["coarse_logits"], -np.inf)
    coarse[:, groups] = out["coarse_logits"][:, groups]
    return {"fine_logits": fine, "coarse_logits": coarse}


def plots_available() -> bool:
    """matplotlib is in the training install only; the runtime install writes figures without plots."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def prior_keys(priors: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Name -> choice for each distinct class prior: train, uniform, uniform:S, or a JSON file named by its file
    name (its path where two files share a name, or where the name reads as an operating point). The same file
    or point given twice (any spelling) counts once; UsageError for a uniform:S whose S is not in [0, 1]."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for p in priors:
        p = str(p)
        builtin = is_builtin(p)
        ident = choice_name(p) if builtin else str(Path(p).resolve())  # choice_name checks S
        if ident in seen:
            continue
        seen.add(ident)
        key = ident if builtin else Path(p).name
        if key in out or (not builtin and is_builtin(key)):
            key = ident  # two files of one name, or a file named like an operating point: by its full path
        out[key] = p
    return out


def file_part(name: str) -> str:
    """A prior's name as part of a file name on any system: uniform:0.5 -> uniform-0.5, a path -> its parts
    joined by "-" (letters of any script kept)."""
    return re.sub(r"[^\w.-]+", "-", name).strip("-.") or "prior"


def confusion_files(names: list[str]) -> dict[str, str]:
    """Prior name -> its confusion PNG's file name, one distinct file per prior (-2, -3, ... where two names
    read the same as file names, in any letter case)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = f"confusion-{file_part(name)}"
        stem, i = base, 1
        while stem.casefold() in taken:
            i += 1
            stem = f"{base}-{i}"
        taken.add(stem.casefold())
        out[name] = f"{stem}.png"
    return out


def _usable_priors(runner, priors: dict[str, str], notes: list[str]) -> dict[str, str]:
    """The priors (name -> choice) this model can be scored at. Only `uniform` / `uniform:S` on a model that records
    no training prior becomes a note; any other failure (a bad JSON file, a typo) is the user's error and raises."""
    usable = {}
    for key, p in priors.items():
        try:
            runner.set_class_prior(p)
        except UsageError as err:
            if not (is_builtin(p) and p != "train") or runner.meta.class_prior is not None:
                raise
            notes.append(str(err))
            continue
        usable[key] = p
    runner.set_class_prior("train")
    if not usable:
        raise UsageError(f"none of the class priors {list(priors.values())} applies to this model: " + "; ".join(notes))
    return usable


def evaluate_model(model_path: str | Path, data_path: str | Path, fmt: str, split: str = "test",
                   priors: tuple[str, ...] = ("train", "uniform"), robustness: tuple[str, ...] | None = None,
                   out_dir: str | Path | None = None, skip_bad: bool = False, limit: int | None = None,
                   threads: int | None = None, progress: Callable[[str], None] | None = None,
                   device: str = "cpu", detector: str | None = None, detector_model: str | Path | None = None,
                   margin: float | None = None) -> dict:
    """Metrics of any model eemkit runs (checkpoint, ONNX, engine) on one split, at each class prior
    (`priors`; "uniform" is skipped with a note for a model that records no training prior), and with
    `robustness` conditions (eemkit.eval.robustness.CONDITIONS) the robustness table.

    The data may hold a subset of the model's classes (a folder with happy/ sad/ angry/): then
    "restricted" holds, per prior, the metrics with the argmax over the present classes only, beside
    the unrestricted ones in "priors". With out_dir, writes metrics.json, confusion-<prior>.png (confusion_files;
    "confusion_png" in metrics.json names each prior's file) and
    robustness.png there (the plots only where matplotlib is installed). `detector` / `detector_model`: the
    face detector of the "demo" condition (eemkit.runtime.faces.create_detector; default haar), `margin` the crop
    margin around its boxes (default: the detector's own); UsageError when one is given and the demo condition is
    not scored."""
    from eemkit.data.datasets import read_split_images
    from eemkit.eval.robustness import CONDITIONS, check_conditions
    from eemkit.eval.robustness import robustness as run_robustness
    from eemkit.io_utils import check_output_dir
    from eemkit.runtime import open_runner

    if out_dir is not None:
        check_output_dir(out_dir, "--out")  # before the work, not after it
    robustness = check_conditions(robustness)
    det = _demo_detector(robustness, detector, detector_model, threads)
    if margin is not None and (robustness is None or (robustness and "demo" not in robustness)):
        raise UsageError("--margin is the crop margin of the robustness condition \"demo\": add --robustness (or "
                         "--conditions with demo)")
    res: dict = {"model": str(model_path), "split": split, "format": fmt, "priors": {}, "notes": []}
    rows = None
    with open_runner(model_path, device=device, threads=threads) as runner:
        labels = runner.labels
        usable = _usable_priors(runner, prior_keys(priors), res["notes"])  # a bad prior file: before the images
        skipped: list[str] = []
        images, y_data, data_labels, _ = read_split_images(data_path, fmt, split, skip_bad=skip_bad, limit=limit,
                                                           log=skipped.append)
        if skipped:
            res["notes"].append(skipped[-1])
        present = class_subset(labels, data_labels, str(model_path))
        y = present[y_data]
        raw = runner.infer_images(images, raw=True)
        subset = len(present) < labels.n_fine
        if subset:
            res["classes_present"] = [labels.fine[i] for i in present]
            res["restricted"] = {}
        for key, p in usable.items():
            runner.set_class_prior(p)
            out = runner.postprocess(raw)
            res["priors"][key] = _metrics(y, out, labels)
            if subset:
                res["restricted"][key] = _metrics(y, restrict(out, labels, present), labels)
        runner.set_class_prior("train")
        if robustness is not None:
            rows = run_robustness(runner, images, y, list(robustness) or list(CONDITIONS), usable, progress=progress,
                                  detector=det, margin=margin)
            res["robustness"] = [r.to_dict() for r in rows]
    first = next(iter(usable))
    res.update({k: v for k, v in res["priors"][first].items()})  # the first prior's figures at the top level
    if out_dir is not None:
        _write_eval(res, rows, labels, Path(model_path), Path(out_dir), fmt, split)
    return res


def _demo_detector(conditions: tuple[str, ...] | None, name: str | None, model: str | Path | None,
                   threads: int | None) -> FaceDetector | None:
    """The demo condition's face detector, built before any work; None (the default Haar cascade) when
    none was asked for. UsageError for a detector option without the demo condition."""
    if name is None and model is None:
        return None
    if conditions is None or (conditions and "demo" not in conditions):
        raise UsageError("--detector and --detector-model choose the face detector of the robustness condition "
                         "\"demo\": add --robustness (or --conditions with demo)")
    from eemkit.runtime.faces import create_detector

    # a model file alone picks the detector it belongs to (auto: CenterFace from that file), as predict does
    return create_detector(name or ("auto" if model is not None else "haar"), model, threads)


def _metrics(y: np.ndarray, out: dict[str, np.ndarray], labels: LabelSpace) -> dict:
    return classification_metrics(y, out["fine_logits"], labels.fine, out["coarse_logits"], labels.coarse_index, labels.coarse)


def _write_eval(res: dict, rows, labels: LabelSpace, model_path: Path, out: Path, fmt: str, split: str) -> None:
    import json

    from eemkit.io_utils import atomic_write_text, ensure_dir

    ensure_dir(out, "--out")
    if plots_available():
        from eemkit.eval.robustness import plot_robustness

        files = confusion_files(list(res["priors"]))
        for p, m in res["priors"].items():
            save_confusion_png(m["confusion"], labels.fine, str(out / files[p]),
                               f"{model_path.name} on {split}, {p} prior: acc {m['accuracy']:.2f}%  avg {m['average']:.2f}%")
        res["confusion_png"] = {p: str(out / f) for p, f in files.items()}
        if rows is not None:
            plot_robustness(rows, str(out / "robustness.png"), f"{model_path.name} on {fmt} {split}")
            res["robustness_png"] = str(out / "robustness.png")
    else:
        res["notes"].append("no confusion or robustness plots: matplotlib is not installed (pip install matplotlib)")
    atomic_write_text(out / "metrics.json", json.dumps(res, indent=2), what="metrics")
