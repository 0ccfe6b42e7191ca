"""`eemkit check`."""

from __future__ import annotations

from eemkit.cli.common import not_implemented


def check() -> None:
    """Not implemented yet."""
    not_implemented("check")
