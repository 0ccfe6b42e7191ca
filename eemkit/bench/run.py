"""`eemkit bench`: latency, throughput, size, accuracy of every format in one table.

For a checkpoint, each requested format is exported (or reused from the artifact folder when its
export.json names the same checkpoint hash), loaded through the Runner interface and measured. One
failed format marks its row and the table goes on. Speed-ups are ratios over PyTorch eager measured
in the same run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from eemkit.artifact import Checkpoint
from eemkit.bench.measure import count_gflops, time_fn
from eemkit.errors import EemkitError, UsageError
from eemkit.formats import FORMAT_NAMES, format_for, format_named, runtime_of
from eemkit.io_utils import ensure_dir
from eemkit.runtime.env import machine_info

NO_CALIBRATION = "INT8 formats need calibration data: pass --data (its train split is sampled)"


@dataclass
class BenchOptions:
    formats: list[str] = field(default_factory=lambda: ["torch", "onnx", "onnx-int8"])
    batches: list[int] = field(default_factory=lambda: [1, 32])
    data: str | None = None
    data_format: str = "ferplus"
    split: str = "test"
    limit: int | None = None
    device: str = "cpu"
    threads: int | None = None
    min_time_s: float = 1.0
    out_dir: str | None = None
    calib_data: str | None = None
    calib_n: int = 512


def validate(opts: BenchOptions) -> None:
    bad = [f for f in opts.formats if f not in FORMAT_NAMES]
    if bad:
        raise UsageError(f"unknown format(s) {', '.join(bad)}; choose from: {', '.join(FORMAT_NAMES)}")
    if not opts.batches or any(b < 1 for b in opts.batches):
        raise UsageError(f"batch sizes must be positive integers, got {opts.batches}")
    if opts.threads is not None and opts.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {opts.threads}")
    if opts.device not in ("cpu", "cuda", "tensorrt"):
        raise UsageError(f"--device must be cpu, cuda or tensorrt, not {opts.device!r}")
    if opts.device != "cpu" and not _gpu_visible(opts.device):
        raise UsageError(f"--device {opts.device}: no CUDA GPU is visible here (neither PyTorch nor ONNX Runtime "
                         "finds one); use --device cpu")


def _gpu_visible(device: str) -> bool:
    """A GPU that PyTorch (when installed) or ONNX Runtime's provider for `device` can use."""
    from eemkit.runtime.env import torch_info

    if torch_info()["cuda_available"]:
        return True
    import onnxruntime as ort

    ep = "TensorrtExecutionProvider" if device == "tensorrt" else "CUDAExecutionProvider"
    return ep in ort.get_available_providers()


def _artifacts_for(ckpt: Path, out_dir: Path, opts: BenchOptions, log: Callable[[str], None],
                   checkpoint: Checkpoint | None = None) -> dict[str, Path]:
    """Export (or reuse) the ONNX/engine artifacts the requested formats need."""
    from eemkit.export.api import ExportOptions, export_checkpoint
    from eemkit.hashing import file_sha256

    precisions = {format_named(f).precision for f in opts.formats}
    need_fp16 = "fp16" in precisions
    # without calibration data the other formats still export and run; the INT8 rows say why they cannot
    need_int8 = "int8" in precisions and bool(opts.calib_data or opts.data)
    manifest = out_dir / "export.json"
    sha = file_sha256(ckpt)
    if manifest.is_file():
        try:
            prev = json.loads(manifest.read_text())
            have = {k: Path(v["path"]) for k, v in prev["artifacts"].items()}
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):  # damaged or edited: export again
            prev, have = {}, {}
        if prev.get("checkpoint_sha256") == sha and (not need_fp16 or "onnx-fp16" in have) and (not need_int8 or "onnx-int8" in have):
            log(f"reusing artifacts in {out_dir} (same checkpoint hash)")
            return have
    eo = ExportOptions(fp16=need_fp16, int8=need_int8, calib_data=opts.calib_data or opts.data,
                       calib_format=opts.data_format, calib_n=opts.calib_n)
    res = export_checkpoint(ckpt, ensure_dir(out_dir, "artifacts folder"), eo, log=log, checkpoint=checkpoint)
    return {k: Path(v["path"]) for k, v in res["artifacts"].items()}


def bench(sources: list[str], opts: BenchOptions, log: Callable[[str], None] = lambda s: None) -> dict:
    """Benchmark each source (checkpoint or artifact); returns {"machine", "options", "rows"}."""
    validate(opts)
    rows: list[dict] = []
    data_cache: dict = {}
    for src in sources:
        p = Path(src)
        if not p.is_file():
            raise UsageError(f"{p} does not exist")
        if runtime_of(p) == "torch":
            rows += _bench_checkpoint(p, opts, data_cache, log)
        else:
            rows.append(_bench_one(p.name, _artifact_format(p), p, None, opts, data_cache, log))
    return {"machine": machine_info(opts.threads, opts.device), "options": vars(opts), "rows": rows}


def _bench_checkpoint(ckpt: Path, opts: BenchOptions, data_cache: dict, log) -> list[dict]:
    from eemkit.models import build_model

    ck = Checkpoint.load(ckpt)  # loaded once: the torch row, the export and the counts share it
    model = build_model(ck)
    params = sum(p.numel() for p in model.parameters())
    gflops = count_gflops(model, ck.preprocess["input_size"])
    out_dir = Path(opts.out_dir) if opts.out_dir else ckpt.parent / f"{ckpt.stem}-artifacts"
    rows, arts, export_error = [], {}, None
    if any(f != "torch" for f in opts.formats):
        try:
            onnx = [f for f in opts.formats if format_named(f).runtime == "onnxruntime"]
            onnx_formats = BenchOptions(**{**vars(opts), "formats": onnx + (["torch"] if "torch" in opts.formats else [])})
            arts = _artifacts_for(ckpt, out_dir, onnx_formats, log, ck) if onnx else {}
        except EemkitError as err:
            export_error = str(err)
    for fmt in opts.formats:
        name = f"{ckpt.parent.name}/{ckpt.name}"
        if fmt == "torch":
            path = ckpt
        elif format_named(fmt).runtime == "tensorrt":
            path = _engine_for(ckpt, out_dir, fmt, arts, opts, log)
            if isinstance(path, str):
                rows.append(_failed_row(name, fmt, path, params, gflops))
                continue
        else:
            if fmt not in arts:
                reason = export_error or (NO_CALIBRATION if fmt == "onnx-int8" and not (opts.calib_data or opts.data)
                                          else f"export produced no {fmt}")
                rows.append(_failed_row(name, fmt, reason, params, gflops))
                continue
            path = arts[fmt]
        row = _bench_one(name, fmt, path, ck if fmt == "torch" else None, opts, data_cache, log)
        row.update(params=params, gflops=gflops)
        if fmt == "torch":  # the checkpoint file also holds optimiser state: report the weights too
            row["weights_mb"] = ck.weights_bytes() / 1e6
        rows.append(row)
    ref = next((r for r in rows if r["format"] == "torch" and r["status"] == "ok"), None)
    for r in rows:
        if ref and r["status"] == "ok":
            r["speedup_vs_torch"] = ref["latency"]["median_ms"] / r["latency"]["median_ms"]
            if "accuracy" in r and "accuracy" in ref:
                r["accuracy_diff"] = r["accuracy"] - ref["accuracy"]
                r["average_diff"] = r["average"] - ref["average"]
    return rows


def _engine_for(ckpt: Path, out_dir: Path, fmt: str, arts: dict, opts: BenchOptions, log) -> Path | str:
    """Path to the engine, building it if needed; or the reason it cannot exist here."""
    try:
        from eemkit.export.tensorrt import require_tensorrt

        require_tensorrt()
    except EemkitError as err:
        return str(err)
    precision = format_named(fmt).precision
    eng = out_dir / f"model.{precision}.engine"
    if eng.is_file():
        return eng
    from eemkit.export.api import ExportOptions, export_checkpoint

    try:
        res = export_checkpoint(ckpt, out_dir, ExportOptions(format="engine", fp16=precision == "fp16", int8=precision == "int8",
                                                             int8_target="trt", calib_data=opts.calib_data or opts.data,
                                                             calib_format=opts.data_format, calib_n=opts.calib_n), log=log)
    except EemkitError as err:
        return str(err)
    return Path(res["artifacts"][fmt]["path"])


def _artifact_format(p: Path) -> str:
    """The format name of an artifact file: its runtime from the table, its precision from its metadata."""
    from eemkit.export.metadata import read_onnx_metadata, read_sidecar

    runtime = runtime_of(p)
    meta = (read_onnx_metadata(p) if runtime == "onnxruntime" else read_sidecar(p)) or {}
    return format_for(runtime, meta.get("precision", "fp32")).name


def _failed_row(name: str, fmt: str, reason: str, params=None, gflops=None) -> dict:
    return {"model": name, "format": fmt, "status": "failed", "reason": reason, "params": params, "gflops": gflops}


def _bench_one(name: str, fmt: str, path: Path, checkpoint: Checkpoint | None, opts: BenchOptions, data_cache: dict,
               log) -> dict:
    from eemkit.data.preprocess import runtime_input
    from eemkit.metrics import classification_metrics
    from eemkit.runtime import open_runner

    row: dict = {"model": name, "format": fmt, "path": str(path), "size_mb": os.path.getsize(path) / 1e6}
    try:
        runner = open_runner(path, device=opts.device, threads=opts.threads, checkpoint=checkpoint)
        with runner:
            row["precision"], row["runtime"] = runner.precision, runner.name
            rng = np.random.default_rng(0)
            s = runner.spec
            prepared = rng.integers(0, 256, (max(opts.batches), s.resize_size, s.resize_size, s.channels), dtype=np.uint8)
            x_all = runtime_input(prepared, s, runner.input_kind)
            b1 = x_all[:1]
            row["latency"] = time_fn(lambda: runner.infer(b1), min_time_s=opts.min_time_s)
            row["throughput"] = {}
            for b in opts.batches:
                if b == 1:
                    row["throughput"]["1"] = 1000.0 / row["latency"]["median_ms"]
                    continue
                xb = x_all[:b]
                t = time_fn(lambda: runner.infer(xb), warmup=2, min_runs=5, min_time_s=opts.min_time_s)
                row["throughput"][str(b)] = b * 1000.0 / t["median_ms"]
            if opts.data:
                key = (s, opts.data, opts.split)
                if key not in data_cache:
                    from eemkit.data.datasets import load_split

                    data_cache[key] = load_split(opts.data, opts.data_format, opts.split, s, limit=opts.limit)
                ds = data_cache[key]
                if tuple(ds.labels.fine) != tuple(runner.labels.fine):
                    raise UsageError(f"--data has classes {list(ds.labels.fine)}, the model {list(runner.labels.fine)}")
                out = runner.infer_prepared(ds.images)
                m = classification_metrics(ds.fine, out["fine_logits"], runner.labels.fine)
                row["accuracy"], row["average"], row["eval_n"] = m["accuracy"], m["average"], m["n"]
        row["status"] = "ok"
    except UsageError:
        raise
    except Exception as err:  # one failed format must not stop the table: mark the row
        row.update(status="failed", reason=f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        log(f"{fmt}: {row['reason']}")
    return row
