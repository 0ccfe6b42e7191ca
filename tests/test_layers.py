"""The package's layers, bottom up (STYLE.md): an import never runs from a lower layer to a higher one."""

from __future__ import annotations

import ast
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


def _targets(tree: ast.AST, root: Path, package: str = "eemkit"):
    """Every eemkit module a file imports: `import eemkit.x`, `from eemkit.x import y`, `from eemkit import x`
    and the relative forms (`from ..x import y`, resolved against `package`, the file's own package; a name
    imported from a package counts when it is a submodule; `__version__` and the like are not)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".", 1)[1] for a in node.names if a.name.startswith("eemkit."))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]  # level 1: the package itself, 2: its parent
                module = f"{base}.{module}" if module else base
            if module.startswith("eemkit."):
                yield module.split(".", 1)[1]
            elif module == "eemkit":
                yield from (a.name for a in node.names if (root / a.name).is_dir() or (root / f"{a.name}.py").is_file())


def _upward_imports() -> list[tuple[str, str]]:
    root = Path(eemkit.__file__).parent
    found = []
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root).as_posix()
        me = LEVEL[rel.split("/")[0].removesuffix(".py")]
        package = ".".join(["eemkit", *f.relative_to(root).parent.parts])
        for target in _targets(ast.parse(f.read_text()), root, package):
            if LEVEL[target.split(".")[0]] > me:
                found.append((rel, target))
    return found


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    assert _upward_imports() == []


def test_the_check_sees_every_form_of_import():
    """A planted upward import in each spelling, inside a function too, is seen; `__version__` is not a module."""
    root = Path(eemkit.__file__).parent
    src = ("import eemkit.train.loop\nfrom eemkit.demo.app import predict\nfrom eemkit import pipeline, __version__\n"
           "def f():\n    from eemkit.cli import app\n")
    assert sorted(_targets(ast.parse(src), root)) == ["cli", "demo.app", "pipeline", "train.loop"]
    # relative spellings, from a module of eemkit/train/
    rel = "from ..demo import app\nfrom .. import pipeline\nfrom . import loop\nfrom .loop import train\n"
    assert sorted(_targets(ast.parse(rel), root, "eemkit.train")) == ["demo", "pipeline", "train", "train.loop"]
