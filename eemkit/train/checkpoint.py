"""Checkpoints: written atomically (temp file + rename), loaded with validation.

A checkpoint holds everything needed to rebuild and deploy the model (architecture, labels,
preprocessing, resolved config) and everything needed to resume exactly (optimiser, scheduler,
loss buffers such as the AdaReg centres, epoch and step position, history).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml

from eemkit.errors import EemkitError, UsageError
from eemkit.hashing import file_sha256  # noqa: F401  (re-exported: export and bench read it from here)

FORMAT = "eemkit-checkpoint"


def save_checkpoint(payload: dict[str, Any], path: str | Path) -> Path:
    """Write `payload` to `path` atomically: a crash mid-write never leaves a truncated file. Raises
    EemkitError naming the file when it cannot be written (the previous file is kept)."""
    path = Path(path)
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            torch.save({"format": FORMAT, **payload}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        why = _write_failure(err, path.parent) if isinstance(err, (OSError, RuntimeError)) else None
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        if why is not None:  # torch.save reports a full disk as a RuntimeError
            raise EemkitError(f"cannot write checkpoint {path}: {why}; the previous checkpoint is kept") from None
        raise
    return path


def _write_failure(err: BaseException, folder: Path) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    first = (str(err).splitlines() or [type(err).__name__])[0]
    if free is not None and free < (64 << 20):
        return f"the disk is full ({free / 1e6:.1f} MB free; torch: {first})"
    return f"{type(err).__name__}: {first}"


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate an eemkit checkpoint. Raises UsageError naming the file when it is missing,
    truncated/corrupt, or not an eemkit checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a corrupt file
        raise UsageError(f"{path} is not a readable checkpoint (corrupt or truncated?): {type(err).__name__}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UsageError(f"{path} is not an eemkit checkpoint (no eemkit metadata); train one with `eemkit train`")
    for key in ("model_spec", "labels", "preprocess", "model"):
        if key not in ckpt:
            raise UsageError(f"{path} is an incomplete eemkit checkpoint (missing {key!r})")
    return ckpt


def init_chain(config: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """The runs that a run started with `--init` continues, oldest first, each as (run folder, its config.yaml).
    Empty for a run that started from scratch."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    up = config
    while up.get("init"):
        folder = Path(up["init"]).parent
        if not (folder / "config.yaml").is_file() or any(folder == f for f, _ in chain):
            raise UsageError(f"--init {up['init']}: no run folder with a config.yaml to trace it to")
        up = yaml.safe_load((folder / "config.yaml").read_text())
        chain.insert(0, (folder, up))
    return chain


def build_from_checkpoint(path: str | Path):
    """(model in eval mode, checkpoint dict) from an eemkit checkpoint."""
    from eemkit.models import ModelSpec, create_model

    ckpt = load_checkpoint(path)
    try:
        model = create_model(ModelSpec.from_dict(ckpt["model_spec"]))
        model.load_state_dict(ckpt["model"])
    except (TypeError, KeyError, RuntimeError) as err:
        raise UsageError(f"{path}: weights do not match the stored architecture ({str(err).splitlines()[0]})") from None
    return model.eval(), ckpt
