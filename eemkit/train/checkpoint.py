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

from eemkit.artifact import CHECKPOINT_FORMAT as FORMAT
from eemkit.artifact import Checkpoint, read_checkpoint_payload
from eemkit.errors import EemkitError, UsageError


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
    """The validated raw payload of an eemkit checkpoint (what a resume reads). Raises UsageError naming
    the file when it is missing, truncated/corrupt, or not an eemkit checkpoint."""
    return read_checkpoint_payload(path)


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
    """(model in eval mode, checkpoint payload dict) from an eemkit checkpoint (the training loop's form;
    everything else loads a typed `eemkit.artifact.Checkpoint` and calls `eemkit.models.build_model`)."""
    from eemkit.models import build_model

    ckpt = Checkpoint.load(path)
    return build_model(ckpt), ckpt.payload
