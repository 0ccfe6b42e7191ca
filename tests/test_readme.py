"""Every `eemkit ...` line in the README's fenced blocks parses as written: its command exists and every
option and value converts (a dry parse through Click: nothing runs)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer._click.exceptions import UsageError  # Typer 0.29 vendors Click

from eemkit.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """The eemkit invocations of the README's fenced blocks, comments stripped; `...` placeholders skipped."""
    cmds = []
    for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", README.read_text(), re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.split(" #")[0].strip()
                m = re.match(r"^(?:\S*/)?eemkit\s+(.*)$", part)
                if m and "..." not in part:
                    cmds.append(m.group(1))
    return cmds


def dry_parse(args: list[str]) -> None:
    """Parse `args` down to the leaf command, converting every value; raises UsageError when they do not."""
    cmd = typer.main.get_command(app)
    ctx = cmd.make_context("eemkit", list(args), resilient_parsing=False)
    while hasattr(cmd, "resolve_command"):
        name, cmd, rest = cmd.resolve_command(ctx, [*getattr(ctx, "_protected_args", []), *ctx.args])
        ctx = cmd.make_context(name, rest, parent=ctx)


def test_the_readme_has_eemkit_commands():
    assert len(readme_commands()) >= 15


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_parses(line):
    dry_parse(shlex.split(line))  # raises on an unknown command, option or value


def test_an_unknown_option_is_refused():
    with pytest.raises(UsageError):
        dry_parse(["bench", "model.pt", "--no-such-option"])
