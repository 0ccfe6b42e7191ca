"""`eemkit check`: parity of an exported artifact against its PyTorch checkpoint, or (`--lint`) the
offline TensorRT lint of an ONNX model."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import JSON_HELP, THREADS_HELP, DATA_FORMAT_HELP, DEVICE_HELP, DataFormat, Device, console, either, print_json, user_errors
from eemkit.errors import EXIT_LINT, EXIT_PARITY


def render_check(r: dict) -> None:
    from rich.table import Table

    t = Table(title=f"{r['artifact']} ({r['runtime']}, {r['precision']}) vs {r['checkpoint']} on {r['split']} ({r['n']} images)",
              title_justify="left")
    t.add_column("metric")
    t.add_column("reference", justify="right")
    t.add_column("artifact", justify="right")
    t.add_column("Δ", justify="right")
    for k in ("accuracy", "average", "coarse_accuracy") if "reference" in r else ():
        t.add_row(k, f"{r['reference'][k]:.2f}", f"{r['artifact_metrics'][k]:.2f}", f"{r['artifact_metrics'][k] - r['reference'][k]:+.2f}")
    t.add_section()
    f = r["fine"]
    t.add_row("top-1 agreement %", "", f"{f['agreement']:.2f}", "")
    t.add_row("max |Δ logit|", "", f"{f['max_abs_diff']:.2e}", "")
    t.add_row("mean |Δ logit|", "", f"{f['mean_abs_diff']:.2e}", "")
    t.add_row("cosine (mean / min)", "", f"{f['cosine_mean']:.6f} / {f['cosine_min']:.6f}", "")
    t.add_section()
    for c, d in r.get("per_class_diff", {}).items():
        t.add_row(f"[dim]{c} acc Δ[/]", "", "", "-" if d is None else f"{d:+.2f}")
    console.print(t)
    console.print("[bold green]PASS[/]" if r["passed"] else "[bold red]FAIL[/]: " + "; ".join(r["failures"]))


def render_lint(r: dict) -> None:
    from rich.table import Table

    t = Table(title=f"TensorRT lint of {r['path']} ({r['kind']}, opset {r['opset']})", title_justify="left")
    t.add_column("rule", no_wrap=True)
    t.add_column("node", overflow="fold", max_width=28)
    t.add_column("finding", overflow="fold")
    for f in r["findings"]:
        style = "red" if f["severity"] == "error" else "yellow"
        t.add_row(f"[{style}]{f['rule']}[/]", f["node"], f["message"])
    if r["findings"]:
        console.print(t)
    verdict = "[bold green]PASS[/]" if r["ok"] else f"[bold red]FAIL[/]: {r['errors']} error(s)"
    console.print(f"{verdict}, {r['warnings']} warning(s); {len(r['rules'])} rules checked (TensorRT 10.3 and 11)")


def _lint(artifact: Path, json_out: bool) -> None:
    from eemkit.errors import UsageError
    from eemkit.export.trt_lint import lint_onnx
    from eemkit.formats import runtime_of

    if runtime_of(artifact) != "onnxruntime":
        raise UsageError(f"--lint reads an ONNX model; {artifact} is not one")
    report = lint_onnx(artifact).to_dict()
    if json_out:
        print_json(report)
    else:
        render_lint(report)
    if not report["ok"]:
        raise typer.Exit(EXIT_LINT)


class Color(str, Enum):
    gray = "gray"
    rgb = "rgb"


def _floats(text: str | None, what: str) -> tuple[float, ...] | None:
    from eemkit.errors import UsageError

    try:
        return None if text is None else tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{what} must be comma-separated numbers, got {text!r}") from None


@user_errors
def check(
    artifact: Annotated[Path, typer.Argument(help="ONNX model or TensorRT engine to check.")],
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", "-c", help="The PyTorch checkpoint it was exported from.")] = None,
    reference: Annotated[Optional[Path], typer.Option("--reference", help="Compare against the export's reference.npz (saved "
                                                      "inputs and PyTorch outputs) or another model (.onnx/.engine/.pt): no torch, "
                                                      "checkpoint or dataset needed.")] = None,
    lint: Annotated[bool, typer.Option("--lint", help="Only lint the ONNX model for TensorRT 10.3 / 11 (no checkpoint, no data, no TensorRT); exit 5 on errors.")] = False,
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root (default: $EEMKIT_DATA or ../shared/data/ferplus).")] = None,
    data_format: Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)] = None,
    format_old: Annotated[Optional[DataFormat], typer.Option("--format", hidden=True)] = None,
    split: Annotated[str, typer.Option("--split")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N images.")] = None,
    min_agreement: Annotated[Optional[float], typer.Option("--min-agreement", help="Override: minimum top-1 agreement %.")] = None,
    max_acc_drop: Annotated[Optional[float], typer.Option("--max-acc-drop", help="Override: max accuracy drop (points).")] = None,
    max_avg_drop: Annotated[Optional[float], typer.Option("--max-avg-drop", help="Override: max average drop (points).")] = None,
    classes: Annotated[Optional[str], typer.Option("--classes", help="Foreign ONNX: comma-separated class names.")] = None,
    input_size: Annotated[Optional[int], typer.Option("--input-size", help="Foreign ONNX: input side in px.")] = None,
    color: Annotated[Color, typer.Option("--color", help="Foreign ONNX: the input's colour.")] = Color.rgb,
    mean: Annotated[Optional[str], typer.Option("--mean", help="Foreign ONNX: comma-separated per-channel mean (default: ImageNet's).")] = None,
    std: Annotated[Optional[str], typer.Option("--std", help="Foreign ONNX: comma-separated per-channel std (default: ImageNet's).")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help=THREADS_HELP)] = None,
    device: Annotated[Device, typer.Option("--device", help=DEVICE_HELP)] = Device.cpu,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Run the artifact and the checkpoint on the same images; exit 3 when a tolerance is broken. With
    --reference, compare with the export's reference.npz or another model instead (on the device, no torch).
    With --lint, check an ONNX model against TensorRT's parser and quantization rules; exit 5 on errors.

    Default tolerances: FP32 top-1 agreement >= 99.9 %, FP16 >= 99.5 %, INT8 accuracy drop <= 1 point
    and average drop <= 2 points."""
    if lint:
        return _lint(artifact, json_out)
    if checkpoint is None and reference is None:
        from eemkit.errors import UsageError

        raise UsageError("a parity check needs --checkpoint (the PyTorch checkpoint the artifact came from) or "
                         "--reference (reference.npz or another model); or pass --lint for the TensorRT lint alone")
    from eemkit.data import DEFAULT_DATA
    from eemkit.eval.parity import check_artifact

    fallback = None
    if classes and input_size:
        from eemkit.runtime import foreign_meta

        fallback = foreign_meta(classes.split(","), input_size, color.value, _floats(mean, "--mean"), _floats(std, "--std"))
    format, device = either(data_format, format_old, "ferplus", "--data-format and --format"), device.value
    # the library picks the base tolerance from the artifact's real precision (ONNX metadata or engine sidecar)
    overrides = dict(min_agreement=min_agreement, max_acc_drop=max_acc_drop, max_avg_drop=max_avg_drop)
    if reference is not None:
        from eemkit.eval.compare import check_reference

        r = check_reference(artifact, reference, data, format, split, None, limit, threads, device, checkpoint, fallback,
                            overrides=overrides)
    else:
        r = check_artifact(artifact, checkpoint, data or DEFAULT_DATA, format, split, None, fallback, limit, threads=threads,
                           device=device, overrides=overrides)
    if json_out:
        print_json(r)
    else:
        render_check(r)
    if not r["passed"]:
        raise typer.Exit(EXIT_PARITY)
