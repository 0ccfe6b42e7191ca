"""Runtimes behind one Runner interface; `open_runner(path)` picks the runner from the file.

Optional runtimes (onnxruntime, tensorrt) are imported only when a runner of theirs is activated.
"""

from __future__ import annotations

from pathlib import Path

from eemkit.artifact import ArtifactMeta, Checkpoint
from eemkit.errors import UsageError
from eemkit.formats import runtime_of
from eemkit.runtime.base import Runner

DEVICES = ("cpu", "cuda", "tensorrt")
# ONNX Runtime execution providers per --device, in order of preference (CPU last for ops the GPU EPs lack)
DEVICE_PROVIDERS = {"cpu": ["cpu"], "cuda": ["cuda", "cpu"], "tensorrt": ["tensorrt", "cuda", "cpu"]}
FOREIGN_HINT = ("re-export it with `eemkit export`, or describe it to `eemkit check` with --classes and --input-size "
                "(and --color, --mean, --std)")


def open_runner(path: str | Path, device: str = "cpu", threads: int | None = None, providers: list[str] | None = None,
                fallback_meta: ArtifactMeta | None = None, checkpoint: Checkpoint | None = None) -> Runner:
    """Choose a runner from the file and its metadata: .pt/.pth -> PyTorch, .onnx -> ONNX Runtime,
    .engine/.plan -> TensorRT. An ONNX without eemkit metadata needs `fallback_meta`. `device` (cpu | cuda |
    tensorrt) picks ONNX Runtime's execution providers; the runner fails at activation when the first one
    is not the one that runs the model. `checkpoint`: `path` already loaded (a .pt is then not read again).

    Raises UsageError for a missing file, an unknown kind, or a foreign model without a description.
    """
    p = Path(path)
    if device not in DEVICES:
        raise UsageError(f"unknown device {device!r}; choose from: {', '.join(DEVICES)}")
    if not p.is_file():
        raise UsageError(f"model file {p} does not exist")
    runtime = runtime_of(p)
    if runtime == "torch":
        from eemkit.runtime.torch_runner import TorchRunner

        return TorchRunner(p, device="cuda" if device == "tensorrt" else device, threads=threads, checkpoint=checkpoint)
    if runtime == "onnxruntime":
        from eemkit.export.metadata import read_onnx_metadata
        from eemkit.runtime.ort_runner import OrtRunner

        raw = read_onnx_metadata(p)
        meta = ArtifactMeta.from_dict(raw, p) if raw is not None else fallback_meta
        if meta is None:
            raise UsageError(f"{p} has no eemkit metadata; {FOREIGN_HINT}")
        if providers is None:
            providers = DEVICE_PROVIDERS[device]
        return OrtRunner(p, meta, providers=providers, threads=threads)
    from eemkit.export.metadata import read_sidecar
    from eemkit.runtime.trt_runner import TrtRunner

    raw = read_sidecar(p)
    meta = ArtifactMeta.from_dict(raw, f"{p}.json") if raw is not None else fallback_meta
    if meta is None:
        raise UsageError(f"{p} has no metadata sidecar {p}.json; {FOREIGN_HINT}")
    return TrtRunner(p, meta)


def foreign_meta(classes: list[str], input_size: int, color: str = "rgb", mean: tuple | None = None,
                 std: tuple | None = None, crop_pct: float = 1.0, input_kind: str = "float_nchw") -> ArtifactMeta:
    """Metadata for a model eemkit did not export, from what the user says about it."""
    from eemkit.data.preprocess import IMAGENET_MEAN, IMAGENET_STD, PreprocessSpec
    from eemkit.labels import LabelSpace, canonical_name

    labels = LabelSpace(tuple(canonical_name(c) for c in classes))
    spec = PreprocessSpec(input_size=input_size, resize_size=int(round(input_size / crop_pct)), color=color,
                          mean=tuple(mean or IMAGENET_MEAN), std=tuple(std or IMAGENET_STD))
    return ArtifactMeta(classes=labels.fine, coarse_classes=labels.coarse, preprocess=spec.to_dict(), input=input_kind,
                        precision="unknown", coarse_index=tuple(labels.coarse_index))


__all__ = ["Runner", "foreign_meta", "open_runner"]
