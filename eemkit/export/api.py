"""`eemkit export`: one checkpoint in, the requested artifacts out, with an export manifest.

Artifacts (in out_dir): model.onnx (FP32), model.fp16.onnx, model.int8.onnx (CPU Q/DQ: U8
activations) or model.int8-trt.onnx (TensorRT Q/DQ: symmetric S8), and TensorRT plans
model.<precision>.engine with <engine>.json metadata. export.json lists what was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from eemkit.artifact import Checkpoint
from eemkit.data.preprocess import PreprocessSpec, runtime_input
from eemkit.errors import LintFailed, UsageError
from eemkit.export import calibration as cal
from eemkit.export.metadata import embed, read_onnx_metadata, write_sidecar
from eemkit.export.onnx_export import check_out_path, convert_fp16, export_onnx
from eemkit.export.quantize import METHODS, TARGETS, cache_key, quantize_int8
from eemkit.export.trt_lint import lint_onnx, require_lint_pass
from eemkit.io_utils import atomic_write_text, check_output_dir, ensure_dir, save_onnx
from eemkit.formats import format_for
from eemkit.hashing import file_sha256
from eemkit.labels import LabelSpace
from eemkit.models import build_model

CALIB_BATCH = 32  # TensorRT 10 implicit calibration batch (its calibration profile is fixed at it)


@dataclass
class ExportOptions:
    fp16: bool = False
    int8: bool = False
    format: str = "onnx"  # onnx | engine
    calib_data: str | None = None
    calib_format: str = "ferplus"
    calib_manifest: str | None = None
    calib_n: int = cal.DEFAULT_N
    calib_seed: int = 0
    calib_method: str = "minmax"
    int8_target: str = "cpu"  # cpu | trt
    keep_fp32: list[str] = field(default_factory=list)
    opset: int = 17
    probs: bool = False
    uint8_input: bool = False
    mirror_average: bool = False
    max_batch: int = 32
    workspace_mb: int = 1024
    cache_dir: str | None = None


def _cache_dir(opts: ExportOptions) -> Path:
    import os

    return Path(opts.cache_dir or os.environ.get("EEMKIT_CACHE", Path.home() / ".cache" / "eemkit")) / "int8"


def export_checkpoint(ckpt_path: str | Path, out_dir: str | Path, opts: ExportOptions,
                      log: Callable[[str], None] = lambda s: None, checkpoint: Checkpoint | None = None) -> dict:
    """Export `ckpt_path` into `out_dir`; returns the export manifest (also written as export.json).

    Raises UsageError for a non-eemkit checkpoint, a missing/read-only output folder, INT8 without
    calibration data or with too few images, calibration images of another class set or size, and
    EemkitError for --to engine where TensorRT or a GPU is missing, and LintFailed (exit code 5)
    when an --int8-target trt model breaks a TensorRT rule (export.json is written first).
    """
    out = _check_request(out_dir, opts)
    if opts.format == "engine":
        from eemkit.export.tensorrt import require_tensorrt

        require_tensorrt()  # fail before any work, with what to install
    ckpt = checkpoint or Checkpoint.load(ckpt_path)  # `checkpoint`: ckpt_path already loaded by the caller
    model = build_model(ckpt)
    ensure_dir(out, "--out")
    check_out_path(out / "model.onnx")
    sha = file_sha256(ckpt_path)
    labels = ckpt.label_space
    spec = PreprocessSpec.from_dict(ckpt.preprocess)
    arts: dict[str, dict] = {}
    fp32 = export_onnx(model, ckpt, sha, out / "model.onnx", opts.opset, opts.probs, opts.uint8_input, mirror=opts.mirror_average)
    log(f"wrote {fp32}")
    arts["onnx"] = _entry(fp32, "fp32")
    if opts.fp16:
        p = convert_fp16(fp32, out / "model.fp16.onnx")
        log(f"wrote {p}")
        arts["onnx-fp16"] = _entry(p, "fp16")
    calib_inputs, manifest_sha, lint = None, None, None
    if opts.int8:
        arts["onnx-int8"], calib_inputs, manifest_sha = _export_int8(fp32, out, labels, spec, opts, log)
        if opts.int8_target == "trt":
            lint = lint_onnx(arts["onnx-int8"]["path"])
            arts["onnx-int8"]["trt_lint"] = {"ok": lint.ok, "errors": len(lint.errors), "findings": len(lint.findings)}
            log("TensorRT lint: " + ("passed" if lint.ok else f"{len(lint.errors)} error(s)"))
    if opts.format == "engine" and (lint is None or lint.ok):
        arts.update(_build_engines(out, arts, spec, opts, calib_inputs, manifest_sha, log))
    result = {"checkpoint": str(ckpt_path), "checkpoint_sha256": sha, "out_dir": str(out), "artifacts": arts,
              "reference": str(_write_reference(model, fp32, out, labels, spec, opts, log))}
    atomic_write_text(out / "export.json", json.dumps(result, indent=2), what="export manifest")
    if lint is not None and not lint.ok:
        raise LintFailed(lint.summary())  # after export.json, so the files are there to inspect
    return result


def _export_int8(fp32: Path, out: Path, labels: LabelSpace, spec: PreprocessSpec, opts: ExportOptions,
                 log: Callable[[str], None]) -> tuple[dict, object, str]:
    """Sample (or reuse) the calibration set and write the Q/DQ model; returns (artifact entry,
    calibration inputs as the model takes them, calibration manifest hash)."""
    kind = "uint8_nhwc" if opts.uint8_input else "float_nchw"
    manifest = (cal.load_manifest(opts.calib_manifest) if opts.calib_manifest else
                cal.sample_manifest(opts.calib_data, opts.calib_format, opts.calib_n, opts.calib_seed, warn=log, spec=spec))
    cal.save_manifest(manifest, out / "calibration.json")
    images = cal.load_calibration_images(manifest, labels, spec, opts.calib_data if opts.calib_manifest else None)
    cal.check_calibration_images(images, spec)
    calib_inputs = runtime_input(images, spec, kind)
    name = "model.int8.onnx" if opts.int8_target == "cpu" else "model.int8-trt.onnx"
    key = cache_key(file_sha256(fp32), manifest["sha256"], opts.int8_target, opts.calib_method, opts.keep_fp32, kind)
    p, reused = quantize_int8(fp32, out / name, calib_inputs, opts.calib_method, opts.int8_target, opts.keep_fp32,
                              cache_dir=_cache_dir(opts), cache_key_str=key, log=log)
    _stamp_int8(p, fp32, opts, manifest, key)
    log(f"wrote {p}" + (" (from cache)" if reused else ""))
    entry = dict(_entry(p, "int8"), target=opts.int8_target, method=opts.calib_method,
                 calibration_manifest=str(out / "calibration.json"), cache_reused=reused)
    return entry, calib_inputs, manifest["sha256"]


def _check_request(out_dir: str | Path, opts: ExportOptions) -> Path:
    """Every option and the output folder, checked before anything is written (nothing is created here)."""
    if opts.format not in ("onnx", "engine"):
        raise UsageError(f"unknown export format {opts.format!r}; choose onnx or engine")
    if opts.calib_method not in METHODS:
        raise UsageError(f"unknown calibration method {opts.calib_method!r}; choose one of: {', '.join(METHODS)}")
    if opts.int8_target not in TARGETS:
        raise UsageError(f"unknown INT8 target {opts.int8_target!r}; choose one of: {', '.join(TARGETS)}")
    if opts.int8 and not (opts.calib_data or opts.calib_manifest):
        raise UsageError("--int8 needs a calibration set: pass --data PATH (or --calib-manifest FILE)")
    out = Path(out_dir)
    if not out.exists() and not out.parent.is_dir():
        raise UsageError(f"output folder {out.parent} does not exist")
    return check_output_dir(out, "--out")


def _write_reference(model, fp32: Path, out: Path, labels: LabelSpace, spec: PreprocessSpec, opts: ExportOptions,
                     log: Callable[[str], None]) -> Path:
    """reference.npz for `eemkit check --reference`: the first REFERENCE_N calibration images (the INT8
    step's manifest, or a class-balanced sample of --data) with their labels, else seeded synthetic
    images, and the PyTorch outputs on them."""
    from eemkit.export.reference import REFERENCE_N, synthetic_images, write_reference

    images, y, source, manifest = None, None, "synthetic", None
    if opts.int8 or opts.calib_manifest:
        manifest = cal.load_manifest(out / "calibration.json" if opts.int8 else opts.calib_manifest)
    elif opts.calib_data:
        try:
            manifest = cal.sample_manifest(opts.calib_data, opts.calib_format, REFERENCE_N, opts.calib_seed, spec=spec)
        except UsageError as err:
            log(f"reference.npz from synthetic images: {err}")
    if manifest is not None:
        manifest = dict(manifest, files=manifest["files"][:REFERENCE_N])
        data = opts.calib_data if opts.calib_manifest else None
        images = cal.load_calibration_images(manifest, labels, spec, data)
        y, source = cal.calibration_labels(manifest, data), "calibration"
    if images is None:
        images = synthetic_images(spec)
    p = write_reference(model, images, y, read_onnx_metadata(fp32) or {}, out / "reference.npz", source)
    log(f"wrote {p} ({len(images)} {source} images and the PyTorch outputs)")
    return p


def engine_from_onnx(onnx_path: str | Path, out_dir: str | Path, opts: ExportOptions,
                     log: Callable[[str], None] = lambda s: None) -> dict:
    """Build a TensorRT plan on this device from an exported eemkit ONNX (FP32, FP16 or Q/DQ INT8):
    the step to run ON a Jetson, where the checkpoint need not be. Precision follows the ONNX.

    Checks that need no TensorRT come first: UsageError for an ONNX without eemkit metadata or a
    CPU-target (unsigned) Q/DQ model, LintFailed when the offline TensorRT lint finds an error;
    then EemkitError when TensorRT or a GPU is missing."""
    from eemkit.export.tensorrt import build_engine, require_tensorrt

    meta = read_onnx_metadata(onnx_path)
    if meta is None:
        raise UsageError(f"{onnx_path} has no eemkit metadata; export it with `eemkit export` first")
    precision = meta.get("precision", "fp32")
    qdq = precision == "int8"
    target = (meta.get("quantization") or {}).get("target")
    if qdq and target != "trt":
        raise UsageError(f"{onnx_path} is a Q/DQ model for the {target or 'unknown'} target (unsigned activations), "
                         "which TensorRT rejects; export it with --int8 --int8-target trt")
    require_lint_pass(onnx_path)
    trt = require_tensorrt()
    out = ensure_dir(out_dir, "--out")
    spec = PreprocessSpec.from_dict(meta["preprocess"])
    shape = ((spec.input_size, spec.input_size, spec.channels) if meta.get("input") == "uint8_nhwc"
             else (3, spec.input_size, spec.input_size))
    eng = build_engine(onnx_path, out / f"model.{precision}.engine", precision, shape, opts.max_batch,
                       workspace_mb=opts.workspace_mb, timing_cache=out / "timing.cache", qdq=qdq, log=log)
    write_sidecar(eng, dict(meta, source_onnx=str(onnx_path), tensorrt=str(trt.__version__)))
    log(f"wrote {eng}")
    res = {"onnx": str(onnx_path), "out_dir": str(out), "artifacts": {format_for("tensorrt", precision).name: _entry(eng, precision)}}
    atomic_write_text(out / "export.json", json.dumps(res, indent=2), what="export manifest")
    return res


def _entry(path: Path, precision: str) -> dict:
    return {"path": str(path), "precision": precision, "size_mb": path.stat().st_size / 1e6}


def _stamp_int8(path: Path, fp32: Path, opts: ExportOptions, manifest: dict, key: str) -> None:
    import onnx

    meta = dict(read_onnx_metadata(fp32) or {})
    meta.update(precision="int8", quantization={
        "format": "QDQ", "target": opts.int8_target, "method": opts.calib_method,
        "activations": "int8 symmetric" if opts.int8_target == "trt" else "uint8 asymmetric",
        "weights": "int8 symmetric per-channel", "keep_fp32": opts.keep_fp32,
        "calibration_manifest_sha256": manifest["sha256"], "calibration_n": manifest["n"], "cache_key": key,
        "tool": "onnxruntime.quantization.quantize_static",
    })
    proto = onnx.load(str(path))
    embed(proto, meta)
    save_onnx(proto, path)


def _build_engines(out: Path, arts: dict, spec: PreprocessSpec, opts: ExportOptions, calib_inputs,
                   manifest_sha: str | None, log) -> dict:
    from eemkit.export.tensorrt import build_engine, require_tensorrt, trt_major

    trt = require_tensorrt()
    shape = ((spec.input_size, spec.input_size, spec.channels) if opts.uint8_input else (3, spec.input_size, spec.input_size))
    todo = [("fp32", arts["onnx"]["path"], False)]
    if opts.fp16:
        src = arts["onnx-fp16"]["path"] if trt_major(trt) >= 11 else arts["onnx"]["path"]
        todo.append(("fp16", src, False))
    if opts.int8:
        qdq = opts.int8_target == "trt"
        todo.append(("int8", arts["onnx-int8"]["path"] if qdq else arts["onnx"]["path"], qdq))
    built = {}
    for precision, src, qdq in todo:
        require_lint_pass(src)
        calibration = None
        if precision == "int8" and not qdq and calib_inputs is not None:
            calibration = _calibration(src, calib_inputs, manifest_sha, str(trt.__version__), opts)
        eng = build_engine(src, out / f"model.{precision}.engine", precision, shape, opts.max_batch,
                           workspace_mb=opts.workspace_mb, timing_cache=out / "timing.cache", qdq=qdq,
                           calibration=calibration, log=log)
        meta = dict(read_onnx_metadata(src) or {}, precision=precision, source_onnx=str(src), tensorrt=str(trt.__version__))
        write_sidecar(eng, meta)
        log(f"wrote {eng}")
        built[format_for("tensorrt", precision).name] = _entry(eng, precision)
    return built


def _calibration(onnx_path: str | Path, calib_inputs, manifest_sha: str | None, trt_version: str, opts: ExportOptions):
    """TensorRT 10 implicit calibration: full batches of CALIB_BATCH and a cache file keyed by the model,
    the calibration manifest, the TensorRT version, the batch and the input kind."""
    from eemkit.export.tensorrt import Calibration, calibration_cache_file

    n = len(calib_inputs) // CALIB_BATCH * CALIB_BATCH
    batches = [calib_inputs[i:i + CALIB_BATCH] for i in range(0, n, CALIB_BATCH)]
    kind = "uint8_nhwc" if opts.uint8_input else "float_nchw"
    cache = calibration_cache_file(_cache_dir(opts).parent, file_sha256(onnx_path), manifest_sha or "", trt_version,
                                   CALIB_BATCH, kind)
    return Calibration(batches, cache)
