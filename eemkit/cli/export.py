"""`eemkit export`."""

from __future__ import annotations

from eemkit.cli.common import not_implemented


def export() -> None:
    """Not implemented yet."""
    not_implemented("export")
