"""`eemkit demo`."""

from __future__ import annotations

from eemkit.cli.common import not_implemented


def demo() -> None:
    """Not implemented yet."""
    not_implemented("demo")
