"""`eemkit eval`: score a checkpoint on a dataset split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import (JSON_HELP, THREADS_HELP, DATA_FORMAT_HELP, DETECTOR_HELP, DETECTOR_MODEL_HELP, DEVICE_HELP, DataFormat, Detector, Device,
                               console, either, print_json, user_errors)


def render_metrics(m: dict, title: str) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    t.add_column("class")
    t.add_column("images", justify="right")
    t.add_column("accuracy %", justify="right")
    for c, a in m["per_class"].items():
        t.add_row(c, str(m["support"][c]), "-" if a is None else f"{a:.2f}")
    t.add_section()
    t.add_row("[bold]overall[/]", str(m["n"]), f"[bold]{m['accuracy']:.2f}[/]")
    t.add_row("[bold]average[/] (mean per class)", "", f"{m['average']:.2f}")
    if "coarse_accuracy" in m:
        t.add_row("[bold]coarse[/] (V^c)", "", f"{m['coarse_accuracy']:.2f}")
    console.print(t)


def render_priors(res: dict, title: str) -> None:
    """One row per class with accuracy at each class prior side by side; for a folder holding some of the
    model's classes, each prior's score over all classes and restricted to the present ones."""
    from rich.table import Table

    cols = [(p, res["priors"][p], p) for p in res["priors"]]
    if "restricted" in res:
        cols = [c for p in res["priors"] for c in ((f"{p}, all classes", res["priors"][p], p),
                                                   (f"{p}, present only", res["restricted"][p], p))]
    first = cols[0][1]
    classes = res.get("classes_present") or list(first["per_class"])
    t = Table(title=f"{title}: accuracy % at each class prior", title_justify="left")
    t.add_column("class")
    t.add_column("images", justify="right")
    for name, _, _ in cols:  # uniform:S over two lines, so five operating points fit 80 columns
        t.add_column(name.replace("uniform:", "uniform:\n", 1), justify="right")
    for c in classes:
        t.add_row(c, str(first["support"][c]), *["-" if m["per_class"][c] is None else f"{m['per_class'][c]:.2f}" for _, m, _ in cols])
    t.add_section()
    t.add_row("[bold]overall[/]", str(first["n"]), *[f"[bold]{m['accuracy']:.2f}[/]" for _, m, _ in cols])
    t.add_row("[bold]average[/]", "", *[f"{m['average']:.2f}" for _, m, _ in cols])
    if "coarse_accuracy" in first:
        t.add_row("[bold]coarse[/] (V^c)", "", *[f"{m['coarse_accuracy']:.2f}" for _, m, _ in cols])
    console.print(t)


def render_robustness(rows: list[dict], priors: list[str]) -> None:
    from rich.table import Table

    t = Table(title="robustness (accuracy / average %)", title_justify="left")
    t.add_column("condition", min_width=9)
    for p in priors:  # uniform:S over two lines, as in the class table
        t.add_column(p.replace("uniform:", "uniform:\n", 1), justify="right")
    t.add_column("det. recall", justify="right")
    for r in rows:
        t.add_row(r["condition"], *[f"{r[f'accuracy_{p}']:.1f} / {r[f'average_{p}']:.1f}" for p in priors],
                  "-" if r["detector_recall"] is None else f"{r['detector_recall']:.1f}")
    console.print(t)


def default_out(model: Path, split: str) -> Path:
    """eval-<split> beside the model, unless the model is inside the installed eemkit package (the shipped
    default model): then ./eval-<model stem>-<split>, so no output lands in site-packages."""
    import eemkit

    package = Path(eemkit.__file__).resolve().parent
    if package in model.resolve().parents:
        return Path(f"eval-{model.stem}-{split}")
    return model.parent / f"eval-{split}"


@user_errors
def eval_cmd(
    model: Annotated[Path, typer.Argument(help="A checkpoint (.pt), ONNX model or TensorRT engine.")],
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root (default: $EEMKIT_DATA or ../shared/data/ferplus).")] = None,
    data_format: Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)] = None,
    format_old: Annotated[Optional[DataFormat], typer.Option("--format", hidden=True)] = None,
    split: Annotated[str, typer.Option("--split", help="train | valid | test")] = "test",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for metrics.json and the confusion / robustness plots (default: eval-SPLIT beside the model).")] = None,
    class_prior: Annotated[Optional[list[str]], typer.Option("--class-prior", help="Operating point(s) to score: train | "
                                                             "uniform | uniform:S (share S in [0, 1] of the training prior removed) | a JSON file; repeatable (default: train and uniform).")] = None,
    robustness: Annotated[bool, typer.Option("--robustness", help="Also score shifted/rescaled framing, rotation, "
                                             "low resolution, low light, JPEG, mirroring and the demo's detect-and-crop.")] = False,
    conditions: Annotated[Optional[str], typer.Option("--conditions", help="Comma-separated subset of the robustness conditions.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Score only the first N images.")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP)] = None,
    device: Annotated[Device, typer.Option("--device", help=DEVICE_HELP)] = Device.cpu,
    skip_bad: Annotated[bool, typer.Option("--skip-bad")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    detector: Annotated[Optional[Detector], typer.Option("--detector", help="--robustness: the demo condition's face detector: "
                                                         + DETECTOR_HELP)] = None,
    detector_model: Annotated[Optional[Path], typer.Option("--detector-model", help=DETECTOR_MODEL_HELP)] = None,
    margin: Annotated[Optional[float], typer.Option("--margin", min=0.0, max=1.0, help="--robustness: the demo condition's "
                                                   "crop margin (default: the detector's own, as predict uses it).")] = None,
) -> None:
    """Accuracy, average (mean per-class) accuracy, coarse accuracy and per-class accuracy at each class prior
    (default: the training prior and with it removed; --class-prior picks others), confusion matrices, and with
    --robustness the robustness table and plot.
    A folder format dataset may hold some of the model's classes (happy/ sad/ angry/): it is scored over
    all classes and restricted to the present ones, side by side."""
    from eemkit.data import DEFAULT_DATA
    from eemkit.eval.evaluate import evaluate_model

    format, device = either(data_format, format_old, "ferplus", "--data-format and --format"), device.value
    out_dir = out if out is not None else default_out(model, split)
    conds = None
    if robustness or conditions is not None:
        conds = tuple(c.strip() for c in conditions.split(",")) if conditions is not None else ()
        if conditions is not None and (not conds or "" in conds):
            from eemkit.errors import UsageError

            raise UsageError(f"--conditions {conditions!r}: give condition names separated by commas, e.g. shift,demo "
                             "(or --robustness alone for all of them)")
    res = evaluate_model(model, data or DEFAULT_DATA, format, split, tuple(class_prior or ("train", "uniform")), conds,
                         out_dir, skip_bad=skip_bad, limit=limit, threads=threads, device=device,
                         detector=detector.value if detector else None, detector_model=detector_model, margin=margin)
    if json_out:
        print_json(res)
        return
    render_priors(res, f"{model} on {format} {split}")
    if "robustness" in res:
        render_robustness(res["robustness"], list(res["priors"]))
    for note in res["notes"]:
        console.print(f"note: {note}")
    console.print(f"written to {out_dir}")
