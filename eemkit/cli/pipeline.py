"""`eemkit pipeline`."""

from __future__ import annotations

from eemkit.cli.common import not_implemented


def pipeline() -> None:
    """Not implemented yet."""
    not_implemented("pipeline")
