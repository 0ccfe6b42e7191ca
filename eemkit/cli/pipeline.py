"""`eemkit pipeline`: the whole toolchain on a dataset in one command (the README's main job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import JSON_HELP, DATA_FORMAT_HELP, DataFormat, console, either, err_console, print_json, user_errors
from eemkit.errors import EXIT_PARITY


@user_errors
def pipeline(
    data_arg: Annotated[Optional[Path], typer.Argument(metavar="DATA", hidden=True, show_default=False,
                                                       help="Dataset root (old spelling of --data).")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root (default: $EEMKIT_DATA or ../shared/data/ferplus).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder.")] = Path("runs/pipeline"),
    data_format: Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)] = None,
    format_old: Annotated[Optional[DataFormat], typer.Option("--format", hidden=True)] = None,
    backbone: Annotated[str, typer.Option("--backbone", help="Student backbone.")] = "shufflenet_v2_x1_0",
    teacher: Annotated[Optional[Path], typer.Option("--teacher", help="Distil from this teacher (checkpoint, ONNX or "
                                                    ".npz; default: the shipped model, for FER+).")] = None,
    no_distill: Annotated[bool, typer.Option("--no-distill", help="Train the student without a teacher.")] = False,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 3,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", min=1, help="Training steps (batches of 32) per epoch (default 250).")] = None,
    steps_old: Annotated[Optional[int], typer.Option("--steps", min=1, hidden=True)] = None,
    input_size: Annotated[int, typer.Option("--input-size", min=16)] = 64,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Train a small student for a few minutes, export FP32 + INT8 ONNX, check both against PyTorch on the
    test split, and print the bench table. Exits 3 if a parity tolerance is broken."""
    from eemkit.cli.bench import render_bench
    from eemkit.cli.check import render_check
    from eemkit.cli.train import RichReporter
    from eemkit.pipeline import run_pipeline

    from eemkit.data import DEFAULT_DATA

    data = either(data, data_arg, DEFAULT_DATA, "--data and DATA")
    fmt = either(data_format, format_old, "ferplus", "--data-format and --format")
    steps = either(max_steps, steps_old, 250, "--max-steps and --steps")
    reporter = RichReporter()
    try:
        res = run_pipeline(data, out, fmt, backbone, None if no_distill else (str(teacher) if teacher else "default"),
                           epochs, steps, input_size,
                           reporter=reporter, log=lambda s: err_console.print(s, highlight=False))
    finally:
        reporter.close()
    from eemkit.io_utils import atomic_write_text

    atomic_write_text(out / "pipeline.json", json.dumps(res, indent=2, default=str))
    if json_out:
        print_json(res)
    else:
        for c in res["checks"]:
            render_check(c)
        render_bench(res["bench"])
        console.print(f"results: {out / 'pipeline.json'}")
    if not all(c["passed"] for c in res["checks"]):
        raise typer.Exit(EXIT_PARITY)
