"""`eemkit data`: dataset statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from eemkit.cli.common import DATA_FORMAT_HELP, DataFormat, LabelMode, console, either, print_json, user_errors

app = typer.Typer(help="Inspect datasets on disk.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("stats")
@user_errors
def stats(
    path: Annotated[Optional[Path], typer.Argument(metavar="DATA", hidden=True, show_default=False,
                                                   help="Dataset root (old spelling of --data).")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Dataset root (FER+: the folder holding FER2013Train/ ...; "
                                                 "default: $EEMKIT_DATA or ../shared/data/ferplus).")] = None,
    data_format: Annotated[Optional[DataFormat], typer.Option("--data-format", help=DATA_FORMAT_HELP)] = None,
    format_old: Annotated[Optional[DataFormat], typer.Option("--format", "-f", hidden=True)] = None,
    label_mode: Annotated[LabelMode, typer.Option(help="FER+ label rule.")] = LabelMode.majority,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Per-split, per-class counts (fine and coarse), exclusions and the imbalance ratio."""
    from rich.table import Table

    from eemkit.data.stats import dataset_stats

    from eemkit.data import DEFAULT_DATA

    format = either(data_format, format_old, "ferplus", "--data-format and --format")
    s = dataset_stats(either(data, path, DEFAULT_DATA, "--data and DATA"), format, label_mode.value)
    if json_out:
        print_json(s)
        return
    for split, d in s["splits"].items():
        t = Table(title=f"{format} {split}: {d['n']} images ({label_mode.value}); imbalance {d['imbalance']:.1f}x",
                  title_justify="left")
        t.add_column("class")
        t.add_column("coarse")
        t.add_column("images", justify="right")
        t.add_column("%", justify="right")
        from eemkit.labels import FINE_TO_COARSE

        for c, n in d["fine"].items():
            t.add_row(c, FINE_TO_COARSE[c], str(n), f"{100 * n / max(d['n'], 1):.1f}")
        t.add_section()
        for c, n in d["coarse"].items():
            t.add_row(f"[dim]{c}[/]", "(coarse)", str(n), f"{100 * n / max(d['n'], 1):.1f}")
        if d["excluded"]:
            t.caption = "excluded: " + ", ".join(f"{k} {v}" for k, v in d["excluded"].items())
        console.print(t)
