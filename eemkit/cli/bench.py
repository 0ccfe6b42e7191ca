"""`eemkit bench`: latency, throughput, size and accuracy of every format in one table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import (JSON_HELP, THREADS_HELP, DATA_FORMAT_HELP, DETECTOR_HELP, DETECTOR_MODEL_HELP, DEVICE_HELP, DataFormat, Detector, Device,
                               console, either, err_console, print_json, user_errors)


def _ints(text: str, what: str) -> list[int]:
    from eemkit.errors import UsageError

    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated integers, got {text!r}") from None


DEFAULT_FORMATS = "torch,onnx,onnx-int8"


@user_errors
def bench(
    models: Annotated[list[Path], typer.Argument(help="Checkpoints (.pt) and/or artifacts (.onnx, .engine).")],
    formats: Annotated[str, typer.Option("--formats", help="Comma-separated: torch,onnx,onnx-fp16,onnx-int8,engine-fp32,engine-fp16,engine-int8")] = DEFAULT_FORMATS,
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root: accuracy on --split, calibration from train.")] = None,
    data_format: Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)] = None,
    format_old: Annotated[Optional[DataFormat], typer.Option("--format", hidden=True)] = None,
    split: Annotated[str, typer.Option("--split")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N evaluation images.")] = None,
    batch_size: Annotated[Optional[str], typer.Option("--batch-size", help="Batch sizes, e.g. 1,8,32 (latency at 1, throughput at each; default 1,32).")] = None,
    batch_old: Annotated[Optional[str], typer.Option("--batch", hidden=True)] = None,
    device: Annotated[Device, typer.Option("--device", help=DEVICE_HELP)] = Device.cpu,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP)] = None,
    min_time: Annotated[float, typer.Option("--min-time", min=0.0, help="Seconds of timed runs per measurement.")] = 1.0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for bench.json, bench.csv, bench.md and bench.png.")] = None,
    artifacts: Annotated[Optional[Path], typer.Option("--artifacts", help="Where exported artifacts go / are reused from "
                                                       "(default: <--out>/artifacts, else <checkpoint folder>/<name>-artifacts).")] = None,
    pipeline: Annotated[Optional[Path], typer.Option("--pipeline", help="Time the whole per-frame path on this video instead.")] = None,
    detect_every: Annotated[int, typer.Option("--detect-every", min=1, help="--pipeline: run the face detector every N frames.")] = 1,
    detector: Annotated[Optional[Detector], typer.Option("--detector", help="--pipeline: the face detector: " + DETECTOR_HELP)] = None,
    detector_model: Annotated[Optional[Path], typer.Option("--detector-model", help=DETECTOR_MODEL_HELP)] = None,
    calib_n: Annotated[int, typer.Option("--calib-n", min=1, help="Calibration images for INT8 formats.")] = 512,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Also write the table as CSV here.")] = None,
) -> None:
    """Measure every format of each model: latency (median/p90/p99/std), throughput, size, params, GFLOPs,
    accuracy and the speed-up over PyTorch eager measured in the same run. Exits 1 when every row failed."""
    from eemkit.errors import EemkitError
    from eemkit.io_utils import atomic_write_text, check_output_dir, check_output_file, ensure_dir

    format = either(data_format, format_old, "ferplus", "--data-format and --format")
    batch = either(batch_size, batch_old, "1,32", "--batch-size and --batch")
    device = device.value
    if out is not None:
        check_output_dir(out, "--out")
    if csv_out is not None:
        check_output_file(csv_out, "--csv file")
    from eemkit.errors import UsageError

    if pipeline is None and (detector is not None or detector_model is not None):
        raise UsageError("--detector and --detector-model choose the face detector of bench --pipeline VIDEO")
    if pipeline is not None:
        from eemkit.demo.pipeline import bench_pipeline

        stray = [name for name, given in (
            ("--formats", formats != DEFAULT_FORMATS), ("--batch-size", batch_size is not None or batch_old is not None),
            ("--data", data is not None), ("--data-format", data_format is not None or format_old is not None),
            ("--split", split != "test"), ("--limit", limit is not None), ("--artifacts", artifacts is not None),
            ("--calib-n", calib_n != 512), ("--csv", csv_out is not None), ("--device", device != "cpu"),
            ("--min-time", min_time != 1.0)) if given]
        if stray:
            raise UsageError(f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} for the format benchmark; --pipeline VIDEO times the per-frame "
                             "path (detect, crop, classify) and takes --detect-every, --detector, --threads, --out, --json")

        res = bench_pipeline(models, pipeline, threads=threads, detect_every=detect_every,
                             log=lambda s: err_console.print(s, highlight=False),
                             detector=detector.value if detector else "haar", detector_model=detector_model)
        if out:
            atomic_write_text(ensure_dir(out, "--out") / "pipeline.json", json.dumps(res, indent=2))
        if json_out:
            print_json(res)
        else:
            from eemkit.cli.demo import render_pipeline

            render_pipeline(res)
        return
    from eemkit.bench.report import write_csv, write_reports
    from eemkit.bench.run import BenchOptions
    from eemkit.bench.run import bench as run_bench

    opts = BenchOptions(formats=[f.strip() for f in formats.split(",") if f.strip()], batches=_ints(batch, "--batch-size"),
                        data=str(data) if data else None, data_format=format, split=split, limit=limit, device=device,
                        threads=threads, min_time_s=min_time,
                        out_dir=str(artifacts) if artifacts else (str(out / "artifacts") if out else None),
                        calib_n=calib_n)
    res = run_bench([str(m) for m in models], opts, log=lambda s: err_console.print(s, highlight=False))
    if out:
        write_reports(res, out)
    if csv_out:
        write_csv(res, csv_out)
    if json_out:
        print_json(res)
    else:
        render_bench(res)
    if res["rows"] and all(r["status"] != "ok" for r in res["rows"]):
        raise EemkitError(f"every benchmark row failed; first: {res['rows'][0].get('reason', '')}")


def _num(v, fmt: str) -> str:
    """`-` for a value that is unknown (None, NaN) or not measured (0 GFLOPs)."""
    return "-" if v is None or v != v or v == 0 else format(v, fmt)


def render_bench(res: dict) -> None:
    """The bench tables (one per model), laid out for the terminal: below 120 columns the latency
    percentiles beyond the median and the GFLOPs move out (they stay in --json, bench.csv and bench.md);
    a failed row's reason gets its own numbered line under the table, so format names are never cut."""
    from rich.table import Table

    m = res["machine"]
    console.print(f"{m['cpu']} | {m['threads']} threads | {m['device']} | torch {m['torch'] or '-'} | "
                  f"ort {m['onnxruntime'] or '-'} | TensorRT {m['tensorrt'] or '-'}", highlight=False)
    wide = console.width >= 120
    cols = ["MB"] + (["GFLOPs", "ms p50/p90/p99"] if wide else ["ms p50"]) + ["img/s", "x torch", "acc", "avg"]
    failed = []
    for model in dict.fromkeys(r["model"] for r in res["rows"]):
        t = Table(title=model, title_justify="left")
        t.add_column("format", no_wrap=True)
        for c in cols:
            t.add_column(c, justify="right", no_wrap=True)
        for r in (r for r in res["rows"] if r["model"] == model):
            if r["status"] != "ok":
                failed.append(r)
                t.add_row(r["format"], f"[red]failed ({len(failed)})[/]", *(["-"] * (len(cols) - 1)))
                continue
            t.add_row(r["format"], *_bench_cells(r, wide))
        console.print(t)
    for i, r in enumerate(failed, 1):
        console.print(f"[red]({i})[/] {r['format']}: {r.get('reason', '')}", highlight=False)


def _bench_cells(r: dict, wide: bool) -> list[str]:
    lat = r["latency"]
    b, v = list(r["throughput"].items())[-1]
    ms = f"{lat['median_ms']:.2f}/{lat['p90_ms']:.2f}/{lat['p99_ms']:.2f}" if wide else f"{lat['median_ms']:.2f}"
    cells = [_num(r.get("weights_mb", r["size_mb"]), ".2f")] + ([_num(r.get("gflops"), ".3f")] if wide else [])
    return cells + [ms, f"{v:.0f} b{b}", _num(r.get("speedup_vs_torch"), ".2f"), _num(r.get("accuracy"), ".2f"),
                    _num(r.get("average"), ".2f")]
