"""`eemkit predict`: expressions of every face in images, folders and videos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import (JSON_HELP, THREADS_HELP, DETECTOR_HELP, DETECTOR_MODEL_HELP, DEVICE_HELP, Detector, Device, console, err_console,
                               print_json, user_errors)


def _shown(file: str) -> str:
    """The record's file as given, relative to the working folder where it lies below it (two inputs
    may share a base name)."""
    p = Path(file)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return file


@user_errors
def predict(
    inputs: Annotated[list[Path], typer.Argument(help="Images, folders or video files.")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Checkpoint, ONNX or engine (default: the shipped INT8 student).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write one CSV row per face.")] = None,
    annotate: Annotated[Optional[Path], typer.Option("--annotate", help="Write annotated images/videos to this folder.")] = None,
    margin: Annotated[Optional[float], typer.Option("--margin", min=0.0, max=1.0, help="Margin around the face box (fraction of its side; "
                                                   "default: the detector's own, haar 0.05, centerface 0).")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP)] = None,
    class_prior: Annotated[str, typer.Option("--class-prior", help="Operating point: train (the training set's class "
                                             "prior) | uniform (prior removed) | uniform:S (share S in [0, 1] of it removed) | a JSON file {class: weight}.")] = "train",
    crops: Annotated[bool, typer.Option("--crops", help="The images are already face crops: no detection, no margin.")] = False,
    device: Annotated[Device, typer.Option("--device", help=DEVICE_HELP)] = Device.cpu,
    detector: Annotated[Optional[Detector], typer.Option("--detector", help="Face detector: " + DETECTOR_HELP)] = None,
    detector_model: Annotated[Optional[Path], typer.Option("--detector-model", help=DETECTOR_MODEL_HELP)] = None,
) -> None:
    """Detect every face, classify its fine and coarse expression, and write records (file, frame, box,
    labels, probabilities). Images without a face, and files that cannot be read, are reported, not an error
    (unless no input can be read). --csv and --annotate are checked before any inference."""
    from eemkit.demo.app import predict as run_predict

    res = run_predict(model, inputs, annotate, threads, margin, log=lambda s: err_console.print(s, highlight=False),
                      class_prior=class_prior, crops=crops, device=device.value, csv_path=csv_out,
                      detector=detector.value if detector else None, detector_model=detector_model)
    if json_out:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"{len(res['records'])} faces ({res['model']})", title_justify="left")
    for c in ("file", "frame", "box", "fine", "conf", "coarse"):
        t.add_column(c, overflow="fold")
    for r in res["records"][:200]:
        t.add_row(_shown(r["file"]), str(r["frame"]), ",".join(map(str, r["box"])), r["fine_label"], f"{100 * r['fine_conf']:.0f}%", r["coarse_label"])
    console.print(t)
    for f in res["no_face"]:
        console.print(f"no face found in {f}")
