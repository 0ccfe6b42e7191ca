"""The one table of model formats (after Ultralytics' export formats): name, file suffix, precision, the
runtime that runs it and what it needs. Export, bench, check and `open_runner` all read it; nothing parses
file names to find out what an artifact is (the precision comes from the artifact's metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eemkit.errors import UsageError


@dataclass(frozen=True)
class Format:
    name: str  # the name bench --formats and export manifests use
    suffix: str  # the file suffix eemkit writes
    precision: str  # fp32 | fp16 | int8
    runtime: str  # torch | onnxruntime | tensorrt
    needs: tuple[str, ...]  # what producing and running it needs beyond the runtime install


FORMATS: tuple[Format, ...] = (
    Format("torch", ".pt", "fp32", "torch", ("the train extra (torch)",)),
    Format("onnx", ".onnx", "fp32", "onnxruntime", ()),
    Format("onnx-fp16", ".onnx", "fp16", "onnxruntime", ()),
    Format("onnx-int8", ".onnx", "int8", "onnxruntime", ("calibration data",)),
    Format("engine-fp32", ".engine", "fp32", "tensorrt", ("TensorRT", "an NVIDIA GPU")),
    Format("engine-fp16", ".engine", "fp16", "tensorrt", ("TensorRT", "an NVIDIA GPU")),
    Format("engine-int8", ".engine", "int8", "tensorrt", ("TensorRT", "an NVIDIA GPU", "calibration data")),
)
FORMAT_NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
# every suffix a runtime opens (eemkit writes the first of each; the others are common spellings)
RUNTIME_SUFFIXES: dict[str, tuple[str, ...]] = {"torch": (".pt", ".pth", ".ckpt"), "onnxruntime": (".onnx",),
                                                "tensorrt": (".engine", ".plan", ".trt")}


def format_named(name: str) -> Format:
    """The format called `name`; UsageError listing the valid names otherwise."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise UsageError(f"unknown format {name!r}; choose from: {', '.join(FORMAT_NAMES)}")


def runtime_of(path: str | Path) -> str:
    """The runtime that opens `path` (torch | onnxruntime | tensorrt), from its suffix; UsageError otherwise."""
    suffix = Path(path).suffix.lower()
    for runtime, suffixes in RUNTIME_SUFFIXES.items():
        if suffix in suffixes:
            return runtime
    raise UsageError(f"{path}: unknown model kind {suffix!r}; expected a checkpoint (.pt), ONNX (.onnx) or "
                     "TensorRT engine (.engine/.plan)")


def format_for(runtime: str, precision: str) -> Format:
    """The format a `runtime` artifact of `precision` (from its metadata) belongs to; an unknown precision
    (a foreign model) counts as fp32."""
    for f in FORMATS:
        if f.runtime == runtime and f.precision == precision:
            return f
    return format_for(runtime, "fp32") if precision != "fp32" else format_named(runtime)
