"""`eemkit bench`."""

from __future__ import annotations

from eemkit.cli.common import not_implemented


def bench() -> None:
    """Not implemented yet."""
    not_implemented("bench")
