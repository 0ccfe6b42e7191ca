"""`eemkit info`: versions, runtimes and devices usable here."""

from __future__ import annotations

from typing import Annotated

import typer

from eemkit.cli.common import console, print_json, user_errors


@user_errors
def info(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show eemkit's version, the installed runtimes (PyTorch, ONNX Runtime providers, TensorRT,
    OpenCV) and the devices they can use."""
    from eemkit.runtime.env import environment_info

    d = environment_info()
    if d.get("torch"):  # training needs torch; a runtime-only install has no backbones to list
        from eemkit.models import STUDENT_BACKBONES, backbone_names

        d["backbones"] = backbone_names()
        d["student_backbones"] = list(STUDENT_BACKBONES)
    if json_out:
        print_json(d)
        return
    from rich.table import Table

    t = Table(title="eemkit environment", title_justify="left", show_header=False)
    for k, v in d.items():
        t.add_row(k, ", ".join(map(str, v)) if isinstance(v, list) else str(v))
    console.print(t)
