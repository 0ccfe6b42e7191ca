"""The package's layers, bottom up (STYLE.md): an import never runs from a lower layer to a higher one."""

from __future__ import annotations

import re
from pathlib import Path

import eemkit

LAYERS = (
    ("errors", "hashing", "io_utils", "hostinfo"),
    ("labels", "metrics"),
    ("artifact", "formats", "priors"),
    ("data", "models", "losses"),
    ("config", "config_checks"),
    ("train",),
    ("export",),
    ("runtime",),
    ("eval",),
    ("bench",),
    ("demo",),
    ("pipeline", "cli", "__main__", "__init__"),
)
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}
IMPORT = re.compile(r"^\s*(?:from eemkit\.([\w.]+) import|import eemkit\.([\w.]+))", re.M)


def _upward_imports() -> list[tuple[str, str]]:
    root = Path(eemkit.__file__).parent
    found = []
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root).as_posix()
        me = LEVEL[rel.split("/")[0].removesuffix(".py")]
        for m in IMPORT.finditer(f.read_text()):
            target = m.group(1) or m.group(2)
            if LEVEL[target.split(".")[0]] > me:
                found.append((rel, target))
    return found


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    assert _upward_imports() == []
