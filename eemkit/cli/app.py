"""The root Typer app: one module per command, no logic beyond parsing and printing."""

from __future__ import annotations

import contextlib
import errno
import os
import sys

import typer
from rich.markup import escape

from eemkit.cli import data as data_cmd
from eemkit.cli import train as train_cmd
from eemkit.cli.bench import bench
from eemkit.cli.common import err_console
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


def _click_exceptions():
    """Typer >= 0.20 vendors click as typer._click; older Typers depend on click itself."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older Typer
        from click import exceptions
    return exceptions


STDOUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT}


def _quiet_std_streams() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail a second time."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def run(argv: list[str]) -> int:
    """Run the CLI on `argv`; returns the exit status. A command-line mistake (an unknown option, a value out
    of range) prints as the one-line `error: ...` every library error gets, with status 2; a closed or full
    standard output as one line and status 1."""
    cx = _click_exceptions()
    try:
        rv = app(args=argv, prog_name="eemkit", standalone_mode=False)
    except cx.ClickException as err:
        no_args = getattr(cx, "NoArgsIsHelpError", None)
        if no_args is not None and isinstance(err, no_args):  # Typer has printed the help already
            return err.exit_code
        ctx = getattr(err, "ctx", None)
        hint = f" (eemkit {ctx.command_path.split(' ', 1)[1]} --help)" if ctx is not None and " " in ctx.command_path else ""
        err_console.print(f"[bold red]error:[/] {escape(err.format_message())}{escape(hint)}", highlight=False,
                          soft_wrap=True)
        return err.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except typer.Abort:  # Typer's end of input (EOFError), not an interrupt
        err_console.print("aborted")
        return 1
    except OSError as err:
        # standard output only: a reader that went away (| head), a full disk under `> file`; any other OSError
        # is a bug to see with its traceback
        if err.filename is not None or err.errno not in STDOUT_ERRNOS:
            raise
        if err.errno != errno.EPIPE:
            with contextlib.suppress(OSError, ValueError):
                err_console.print(f"[bold red]error:[/] cannot write to standard output: {escape(err.strerror or '')}",
                                  highlight=False, soft_wrap=True)
        _quiet_std_streams()
        return 1
    return rv if isinstance(rv, int) else 0


def main() -> None:
    """Entry point of installs made before eemkit.cli.main (their console script names this one)."""
    sys.exit(run(sys.argv[1:]))
