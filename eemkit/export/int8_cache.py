"""The on-disk INT8 calibration cache: entries are verified before reuse and written atomically.

An entry is `<key>.onnx` (the quantized model) plus `<key>.json` (its SHA-256 and its count of
QuantizeLinear nodes). A truncated, edited or swapped entry (say an FP32 model put in its place) fails
the check, is reported and removed, and the model is calibrated again; a cache that cannot be
written only costs the next export a calibration.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Callable

from eemkit.errors import EemkitError
from eemkit.io_utils import atomic_copy, atomic_write_text

Log = Callable[[str], None]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def quantize_nodes(path: str | Path) -> int:
    """How many QuantizeLinear nodes the ONNX model at `path` has (0 for an unquantized model)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return sum(n.op_type == "QuantizeLinear" for n in model.graph.node)


def _problem(entry: Path) -> str | None:
    """Why `entry` must not be reused, or None when it is sound."""
    try:
        record = json.loads(entry.with_suffix(".json").read_text())
    except (OSError, json.JSONDecodeError):
        return "no readable record of its hash"
    if not isinstance(record, dict) or record.get("sha256") != _sha256(entry):
        return "its content does not match the recorded hash (truncated or edited)"
    try:
        n = quantize_nodes(entry)
    except Exception as err:  # onnx raises DecodeError and others for a damaged file
        return f"it is not a readable ONNX model ({type(err).__name__})"
    if n == 0 or n != record.get("quantize_nodes"):
        return f"it has {n} QuantizeLinear nodes, {record.get('quantize_nodes')} recorded"
    return None


def fetch(entry: Path, out_path: Path, log: Log | None = None) -> bool:
    """Copy a verified cache entry to `out_path` (atomically) and say so; False when there is none or
    it fails verification (then it is removed, and the caller calibrates)."""
    if not entry.is_file():
        return False
    why = _problem(entry)
    if why is not None:
        if log:
            log(f"ignoring INT8 calibration cache {entry}: {why}; calibrating again")
        for p in (entry, entry.with_suffix(".json")):
            with contextlib.suppress(OSError):
                p.unlink()
        return False
    atomic_copy(entry, out_path, what="INT8 model")
    if log:
        log(f"reused INT8 calibration cache {entry} (same model hash, calibration manifest, target, method; hash verified)")
    return True


def store(model: Path, entry: Path, log: Log | None = None) -> None:
    """Add `model` to the cache as `entry` with its hash record; a failure is reported, not raised."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_copy(model, entry, what="INT8 cache entry")
        record = {"sha256": _sha256(entry), "quantize_nodes": quantize_nodes(entry)}
        atomic_write_text(entry.with_suffix(".json"), json.dumps(record), what="INT8 cache record")
    except (OSError, EemkitError) as err:
        if log:
            log(f"warning: could not write the INT8 calibration cache {entry}: {err}")
