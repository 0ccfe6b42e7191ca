"""Artifact metadata: embedded in every ONNX model (metadata_props) and written beside engines as JSON.

Keys: classes (fine), coarse_classes, fine_to_coarse, coarse_index, preprocess (input size, resize,
colour, mean/std, channel order), input (float_nchw | uint8_nhwc), outputs, precision
(fp32 | fp16 | int8), quantization (target, method, activation/weight types, calibration manifest
hash), checkpoint_sha256, eemkit_version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eemkit.errors import UsageError

KEY = "eemkit"


def embed(model_proto: Any, meta: dict) -> None:
    """Write `meta` into an onnx.ModelProto's metadata_props (one JSON entry plus readable copies)."""
    props = {KEY: json.dumps(meta, sort_keys=True)}
    props["classes"] = ",".join(meta["classes"])
    props["coarse_classes"] = ",".join(meta["coarse_classes"])
    props["precision"] = meta.get("precision", "fp32")
    del model_proto.metadata_props[:]
    for k, v in props.items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = k, v


def read_onnx_metadata(path: str | Path) -> dict | None:
    """The eemkit metadata of an ONNX file, or None when it has none. Read through ONNX Runtime's model
    metadata, so the runtime install needs no `onnx` package.

    Raises UsageError for a file ONNX Runtime cannot read as a model."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises InvalidProtobuf, Fail and others for a non-ONNX file
        raise UsageError(f"{path} is not a readable ONNX model ({type(err).__name__})") from None
    value = sess.get_modelmeta().custom_metadata_map.get(KEY)
    return _parse(value, path) if value else None


def _parse(text: str, where: str | Path) -> dict:
    """Metadata JSON -> dict; UsageError for an edited or damaged entry (not a traceback)."""
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"the eemkit metadata of {where} is not valid JSON ({err.msg}); re-export the model") from None
    if not isinstance(meta, dict):
        raise UsageError(f"the eemkit metadata of {where} is not a mapping; re-export the model")
    return meta


def sidecar_path(engine_path: str | Path) -> Path:
    return Path(str(engine_path) + ".json")


def write_sidecar(engine_path: str | Path, meta: dict) -> Path:
    from eemkit.io_utils import atomic_write_text

    return atomic_write_text(sidecar_path(engine_path), json.dumps(meta, indent=2, sort_keys=True), what="metadata")


def read_sidecar(engine_path: str | Path) -> dict | None:
    p = sidecar_path(engine_path)
    return _parse(p.read_text(), p) if p.is_file() else None
