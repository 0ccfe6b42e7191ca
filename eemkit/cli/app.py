"""The root Typer app: one module per command, no logic beyond parsing and printing."""

from __future__ import annotations

import typer

from eemkit.cli import data as data_cmd
from eemkit.cli import train as train_cmd
from eemkit.cli.bench import bench
from eemkit.cli.check import check
from eemkit.cli.demo import demo
from eemkit.cli.eval import eval_cmd
from eemkit.cli.export import export
from eemkit.cli.info import info
from eemkit.cli.pipeline import pipeline
from eemkit.cli.predict import predict

app = typer.Typer(
    name="eemkit",
    help="Facial expression recognition with C-F labels and distillation: train, export, check, bench, deploy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(train_cmd.app, name="train")
app.command("eval")(eval_cmd)
app.command("export")(export)
app.command("check")(check)
app.command("bench")(bench)
app.command("predict")(predict)
app.command("demo")(demo)
app.add_typer(data_cmd.app, name="data")
app.command("info")(info)
app.command("pipeline")(pipeline)


def main() -> None:
    app()
