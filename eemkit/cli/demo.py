"""`eemkit demo`: real-time expressions from a camera, a stream or a video file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import (JSON_HELP, THREADS_HELP, DETECTOR_HELP, DETECTOR_MODEL_HELP, DEVICE_HELP, Detector, Device, either, console, err_console,
                               print_json, user_errors)


def render_pipeline(res: dict) -> None:
    from rich.table import Table

    # short headers, so the table reads at 80 columns; the stage times are ms per frame
    t = Table(title=f"per-frame pipeline on {res.get('video', '')} (stages in ms per frame)", title_justify="left")
    for c in ("model", "detector", "frames", "faces", "fps", "detect", "pre", "infer", "post"):
        t.add_column(c, overflow="fold", justify="left" if c in ("model", "detector") else "right")
    for r in res["rows"]:
        s = r["stage_ms"]
        t.add_row(Path(r["model"]).name, str(r.get("detector", "-")), str(r["frames"]), str(r["faces"]), f"{r['fps']:.1f}",
                  f"{s['detect']:.2f}", f"{s['preprocess']:.2f}", f"{s['infer']:.2f}", f"{s['postprocess']:.2f}")
    console.print(t)


@user_errors
def demo(
    source: Annotated[str, typer.Option("--source", "-s", help="Camera index, /dev/videoN, csi://N (Jetson), rtsp://..., a video file or file://PATH.")] = "0",
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Checkpoint, ONNX or engine (default: the shipped INT8 student).")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No window (servers, CI); use with --out.")] = False,
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write the annotated video (.mp4).")] = None,
    output_old: Annotated[Optional[str], typer.Option("--output", hidden=True)] = None,
    records: Annotated[Optional[Path], typer.Option("--records", help="Write per-frame face records as JSON lines.")] = None,
    max_frames: Annotated[Optional[int], typer.Option("--max-frames", min=1)] = None,
    detect_every: Annotated[int, typer.Option("--detect-every", min=1, help="Run the face detector every N frames (tracking in between).")] = 2,
    smoothing: Annotated[float, typer.Option("--smoothing", min=0.0, max=0.99, help="Temporal smoothing of probabilities.")] = 0.6,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP)] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    class_prior: Annotated[str, typer.Option("--class-prior", help="Operating point: train | uniform | uniform:S (share S in [0, 1] of the training prior removed) | a JSON file {class: weight}.")] = "train",
    serve: Annotated[Optional[str], typer.Option("--serve", help="HOST:PORT: serve the annotated video as MJPEG with a live page "
                                                 "and /records.json (0.0.0.0:8080 for the network); implies --headless without a GUI.")] = None,
    device: Annotated[Device, typer.Option("--device", help=DEVICE_HELP)] = Device.cpu,
    detector: Annotated[Detector, typer.Option("--detector", help="Face detector: " + DETECTOR_HELP)] = Detector.auto,
    detector_model: Annotated[Optional[Path], typer.Option("--detector-model", help=DETECTOR_MODEL_HELP)] = None,
    margin: Annotated[Optional[float], typer.Option("--margin", min=0.0, max=1.0, help="Margin around the face box (fraction of its side; "
                                                   "default: the detector's own, haar 0.05, centerface 0).")] = None,
) -> None:
    """Show every face with a box coloured by its coarse expression, the fine label and confidence, frames/s
    and per-stage milliseconds. `q` or Esc quits."""
    from eemkit.demo.app import gui_available, run_demo

    headless = headless or (serve is not None and not gui_available())
    output = either(out, output_old, None, "--out and --output")
    res = run_demo(model, source, headless, output, records, max_frames, threads, detect_every, smoothing,
                   log=lambda s: err_console.print(s, highlight=False), class_prior=class_prior, serve=serve, device=device.value,
                   detector=detector.value, detector_model=detector_model, margin=margin)
    if json_out:
        print_json(res)
    else:
        s = res["stage_ms"]
        console.print(f"{res['frames']} frames, {res['faces']} faces, {res['fps']:.1f} frames/s; per stage: "
                      + ", ".join(f"{k} {v:.2f} ms" for k, v in s.items()))
