"""`eemkit predict`."""

from __future__ import annotations

from eemkit.cli.common import not_implemented


def predict() -> None:
    """Not implemented yet."""
    not_implemented("predict")
