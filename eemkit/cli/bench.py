"""`eemkit bench`: latency, throughput, size and accuracy of every format in one table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import console, err_console, print_json, user_errors


def _ints(text: str, what: str) -> list[int]:
    from eemkit.errors import UsageError

    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated integers, got {text!r}") from None


@user_errors
def bench(
    models: Annotated[list[Path], typer.Argument(help="Checkpoints (.pt) and/or artifacts (.onnx, .engine).")],
    formats: Annotated[str, typer.Option("--formats", help="Comma-separated: torch,onnx,onnx-fp16,onnx-int8,engine-fp32,engine-fp16,engine-int8")] = "torch,onnx,onnx-int8",
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root: accuracy on --split, calibration from train.")] = None,
    format: Annotated[str, typer.Option("--format", help="Dataset format.")] = "ferplus",
    split: Annotated[str, typer.Option("--split")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N evaluation images.")] = None,
    batch: Annotated[str, typer.Option("--batch", help="Batch sizes, e.g. 1,8,32 (latency at 1, throughput at each).")] = "1,32",
    device: Annotated[str, typer.Option("--device", help="cpu | cuda | tensorrt (ONNX Runtime's execution provider; engines run on the GPU)")] = "cpu",
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads for every runtime.")] = None,
    min_time: Annotated[float, typer.Option("--min-time", help="Seconds of timed runs per measurement.")] = 1.0,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for bench.json, bench.csv, bench.md and bench.png.")] = None,
    artifacts: Annotated[Optional[Path], typer.Option("--artifacts", help="Where exported artifacts go / are reused from "
                                                       "(default: <--out>/artifacts, else <checkpoint folder>/<name>-artifacts).")] = None,
    pipeline: Annotated[Optional[Path], typer.Option("--pipeline", help="Time the whole per-frame path on this video instead.")] = None,
    detect_every: Annotated[int, typer.Option("--detect-every", min=1, help="--pipeline: run the face detector every N frames.")] = 1,
    calib_n: Annotated[int, typer.Option("--calib-n", help="Calibration images for INT8 formats.")] = 512,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Also write the table as CSV here.")] = None,
) -> None:
    """Measure every format of each model: latency (median/p90/p99/std), throughput, size, params, GFLOPs,
    accuracy and the speed-up over PyTorch eager measured in the same run. Exits 1 when every row failed."""
    from eemkit.errors import EemkitError
    from eemkit.io_utils import atomic_write_text, check_output_dir, check_output_file, ensure_dir

    if out is not None:
        check_output_dir(out, "--out")
    if csv_out is not None:
        check_output_file(csv_out, "--csv file")
    if pipeline is not None:
        from eemkit.demo.pipeline import bench_pipeline

        res = bench_pipeline(models, pipeline, threads=threads, detect_every=detect_every, log=lambda s: err_console.print(s, highlight=False))
        if out:
            atomic_write_text(ensure_dir(out, "--out") / "pipeline.json", json.dumps(res, indent=2))
        if json_out:
            print_json(res)
        else:
            from eemkit.cli.demo import render_pipeline

            render_pipeline(res)
        return
    from eemkit.bench.report import markdown, plot, write_csv
    from eemkit.bench.run import BenchOptions
    from eemkit.bench.run import bench as run_bench

    opts = BenchOptions(formats=[f.strip() for f in formats.split(",") if f.strip()], batches=_ints(batch, "--batch"),
                        data=str(data) if data else None, data_format=format, split=split, limit=limit, device=device,
                        threads=threads, min_time_s=min_time,
                        out_dir=str(artifacts) if artifacts else (str(out / "artifacts") if out else None),
                        calib_n=calib_n)
    res = run_bench([str(m) for m in models], opts, log=lambda s: err_console.print(s, highlight=False))
    if out:
        ensure_dir(out, "--out")
        atomic_write_text(out / "bench.json", json.dumps(res, indent=2))
        write_csv(res, out / "bench.csv")
        atomic_write_text(out / "bench.md", markdown(res))
        plot(res, out / "bench.png")
    if csv_out:
        write_csv(res, csv_out)
    if json_out:
        print_json(res)
    else:
        render_bench(res)
    if res["rows"] and all(r["status"] != "ok" for r in res["rows"]):
        raise EemkitError(f"every benchmark row failed; first: {res['rows'][0].get('reason', '')}")


def render_bench(res: dict) -> None:
    from rich.table import Table

    m = res["machine"]
    t = Table(title=f"{m['cpu']} | {m['threads']} threads | {m['device']} | torch {m['torch']} | ort {m['onnxruntime']} | TensorRT {m['tensorrt']}",
              title_justify="left")
    for c in ("model", "format", "status", "MB", "GFLOPs", "ms b1 (p50/p90/p99)", "img/s", "x torch", "acc", "avg"):
        t.add_column(c)
    for r in res["rows"]:
        if r["status"] != "ok":
            t.add_row(r["model"], r["format"], f"[red]failed[/] {r.get('reason', '')[:60]}", *[""] * 7)
            continue
        lat = r["latency"]
        tp = " ".join(f"b{b}:{v:.0f}" for b, v in r["throughput"].items())
        t.add_row(r["model"], r["format"], "ok", f"{r['size_mb']:.2f}", f"{r.get('gflops') or 0:.3f}",
                  f"{lat['median_ms']:.2f}/{lat['p90_ms']:.2f}/{lat['p99_ms']:.2f}", tp,
                  f"{r.get('speedup_vs_torch', float('nan')):.2f}",
                  f"{r['accuracy']:.2f}" if "accuracy" in r else "-", f"{r['average']:.2f}" if "average" in r else "-")
    console.print(t)
