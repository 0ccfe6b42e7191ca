"""`eemkit eval`: score a checkpoint on a dataset split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import console, print_json, user_errors


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


@user_errors
def eval_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="An eemkit checkpoint (.pt).")],
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root (default: $EEMKIT_DATA or ../shared/data/ferplus).")] = None,
    format: Annotated[str, typer.Option("--format")] = "ferplus",
    split: Annotated[str, typer.Option("--split", help="train | valid | test")] = "test",
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for confusion.png and metrics.json.")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1)] = 256,
    skip_bad: Annotated[bool, typer.Option("--skip-bad")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Accuracy, average (mean per-class) accuracy, coarse accuracy, per-class table and confusion matrix."""
    from eemkit.config import DEFAULT_DATA
    from eemkit.eval.evaluate import evaluate_checkpoint

    out_dir = out if out is not None else checkpoint.parent / f"eval-{split}"
    m = evaluate_checkpoint(checkpoint, data or DEFAULT_DATA, format, split, batch=batch, out_dir=out_dir, skip_bad=skip_bad)
    if json_out:
        print_json(m)
        return
    render_metrics(m, f"{checkpoint} on {format} {split}")
    console.print(f"confusion matrix: {m['confusion_png']}")
