"""`eemkit export`: a checkpoint to ONNX (FP32 / FP16 / INT8 Q/DQ) and TensorRT engines."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import JSON_HELP, DATA_FORMAT_HELP, DataFormat, console, either, err_console, print_json, user_errors


class ExportTarget(str, Enum):
    onnx = "onnx"
    engine = "engine"


class CalibMethod(str, Enum):  # eemkit.export.quantize.METHODS
    minmax = "minmax"
    entropy = "entropy"
    percentile = "percentile"


class Int8Target(str, Enum):  # eemkit.export.quantize.TARGETS
    cpu = "cpu"
    trt = "trt"


@user_errors
def export(
    checkpoint: Annotated[Path, typer.Argument(help="An eemkit checkpoint (.pt), or an exported ONNX with --to engine (build on the device).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created if its parent exists).")] = Path("artifacts"),
    to: Annotated[Optional[ExportTarget], typer.Option("--to", help="onnx (default) | engine (TensorRT plan; needs TensorRT and a GPU)")] = None,
    format_old: Annotated[Optional[ExportTarget], typer.Option("--format", hidden=True)] = None,
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write an FP16 model (float32 inputs/outputs).")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Also write an INT8 Q/DQ model (needs --data).")] = False,
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root to sample the INT8 calibration set from (its train split).")] = None,
    calib_data: Annotated[Optional[Path], typer.Option("--calib-data", hidden=True)] = None,
    data_format: Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)] = None,
    calib_format: Annotated[Optional[DataFormat], typer.Option("--calib-format", hidden=True)] = None,
    calib_manifest: Annotated[Optional[Path], typer.Option("--calib-manifest", help="Reuse a calibration manifest (calibration/*.json).")] = None,
    calib_n: Annotated[int, typer.Option("--calib-n", help="Calibration images (class-balanced).")] = 512,
    calib_seed: Annotated[int, typer.Option("--calib-seed")] = 0,
    calib_method: Annotated[CalibMethod, typer.Option("--calib-method", help="measured: entropy lost 22 points on the ResNet-18 student")] = CalibMethod.minmax,
    int8_target: Annotated[Int8Target, typer.Option("--int8-target", help="cpu (U8 activations, fast in ORT on x86) | trt (symmetric S8, for TensorRT)")] = Int8Target.cpu,
    keep_fp32: Annotated[Optional[list[str]], typer.Option("--keep-fp32", help="ONNX node name to leave unquantized (repeatable).")] = None,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (17 or newer).")] = 17,
    probs: Annotated[bool, typer.Option("--probs", help="Also output fine_probs and coarse_probs.")] = False,
    uint8_input: Annotated[bool, typer.Option("--uint8-input", help="Take uint8 NHWC pixels, normalisation inside the model.")] = False,
    mirror_average: Annotated[bool, typer.Option("--mirror-average", help="Average the logits of each face and its mirror "
                                                 "inside the graph (+0.8 to +1.3 points on FER+ test, twice the compute; benchmarks/README.md 7.4).")] = False,
    max_batch: Annotated[int, typer.Option("--max-batch", min=1, help="Engine optimisation profile's largest batch.")] = 32,
    workspace_mb: Annotated[int, typer.Option("--workspace-mb", min=64)] = 1024,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Export a trained model: ONNX with embedded metadata, optional FP16 and INT8, or TensorRT engines
    (from the checkpoint, or on the device from an exported ONNX: `eemkit export model.int8-trt.onnx --to engine`)."""
    from eemkit.export.api import ExportOptions, export_checkpoint

    format = either(to, format_old, "onnx", "--to and --format")
    calib_data = either(data, calib_data, None, "--data and --calib-data")
    calib_format = either(data_format, calib_format, "ferplus", "--data-format and --calib-format")

    opts = ExportOptions(fp16=fp16, int8=int8, format=format, calib_data=str(calib_data) if calib_data else None,
                         calib_format=calib_format, calib_manifest=str(calib_manifest) if calib_manifest else None,
                         calib_n=calib_n, calib_seed=calib_seed, calib_method=calib_method.value, int8_target=int8_target.value,
                         keep_fp32=list(keep_fp32 or []), opset=opset, probs=probs, uint8_input=uint8_input, mirror_average=mirror_average,
                         max_batch=max_batch, workspace_mb=workspace_mb)
    log = lambda s: err_console.print(s, highlight=False)  # noqa: E731
    from eemkit.formats import runtime_of

    if runtime_of(checkpoint) == "onnxruntime":
        from eemkit.errors import UsageError
        from eemkit.export.api import engine_from_onnx

        if format != "engine":
            raise UsageError("an ONNX input is only for --to engine (building the TensorRT plan on the device)")
        res = engine_from_onnx(checkpoint, out, opts, log=log)
    else:
        res = export_checkpoint(checkpoint, out, opts, log=log)
    if json_out:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"exported {checkpoint}", title_justify="left")
    for c in ("format", "precision", "MB", "path"):
        t.add_column(c)
    for k, a in res["artifacts"].items():
        t.add_row(k, a["precision"], f"{a['size_mb']:.2f}", a["path"])
    console.print(t)
