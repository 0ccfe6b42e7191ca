"""Checkpoint -> ONNX (FP32), checked, simplified, with eemkit metadata; and the FP16 variant."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from eemkit import __version__
from eemkit.artifact import Checkpoint
from eemkit.data.preprocess import PreprocessSpec
from eemkit.errors import UsageError
from eemkit.export.metadata import embed
from eemkit.io_utils import save_onnx
from eemkit.labels import LabelSpace
from eemkit.models import ExportWrapper

OUTPUTS = ("fine_logits", "coarse_logits")
PROB_OUTPUTS = ("fine_probs", "coarse_probs")


def check_out_path(path: str | Path) -> Path:
    """Raise UsageError when the output folder is missing or not writable."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"output folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"output folder {parent} is not writable")
    return path


def base_metadata(ckpt: Checkpoint, ckpt_sha: str, input_kind: str, probs: bool, mirror: bool = False) -> dict:
    labels = ckpt.label_space
    return {
        "format": "eemkit-artifact", "eemkit_version": __version__, "checkpoint_sha256": ckpt_sha,
        "classes": list(labels.fine), "coarse_classes": list(labels.coarse),
        "fine_to_coarse": labels.fine_to_coarse_map(), "coarse_index": list(labels.coarse_index),
        "preprocess": ckpt.preprocess, "input": input_kind,
        "outputs": list(OUTPUTS + (PROB_OUTPUTS if probs else ())), "precision": "fp32",
        "model_spec": ckpt.model_spec, "stage": ckpt.stage, "mirror_average": mirror,
        # the training label marginal and the logit adjustment it was trained with (--class-prior)
        "class_prior": ckpt.class_prior, "logit_adjust": ckpt.logit_adjust,
    }


def export_onnx(model: torch.nn.Module, ckpt: Checkpoint, ckpt_sha: str, out_path: str | Path, opset: int = 17,
                probs: bool = False, uint8_input: bool = False, simplify: bool = True, mirror: bool = False) -> Path:
    """Export an EEMNet to ONNX with a dynamic batch and named outputs; returns the path.

    Input "input": float32 (N, 3, S, S) normalised, or with uint8_input uint8 (N, S, S, C) raw pixels
    (normalisation baked into the graph). With mirror the graph averages the logits of the image and its
    mirror (test-time augmentation inside the model: twice the compute). Raises UsageError for opset < 17 or a bad output path.
    """
    import onnx

    if opset < 17:
        raise UsageError(f"opset {opset} is too old; eemkit exports opset 17 or newer")
    out_path = check_out_path(out_path)
    spec = PreprocessSpec.from_dict(ckpt.preprocess)
    s = spec.input_size
    wrapper = ExportWrapper(model.eval(), probs, uint8_input, spec.mean, spec.std, spec.channels, mirror).eval()
    dummy = torch.zeros(2, s, s, spec.channels, dtype=torch.uint8) if uint8_input else torch.zeros(2, 3, s, s)
    names = list(OUTPUTS + (PROB_OUTPUTS if probs else ()))
    raw = io.BytesIO()  # export in memory: out_path only ever holds a finished, checked model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (dummy,), raw, input_names=["input"], output_names=names,
                          dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in names}},
                          opset_version=opset, dynamo=False, do_constant_folding=True)
    proto = onnx.load_model_from_string(raw.getvalue())
    if simplify:
        proto = _simplify(proto)
    embed(proto, base_metadata(ckpt, ckpt_sha, "uint8_nhwc" if uint8_input else "float_nchw", probs, mirror))
    onnx.checker.check_model(proto)
    save_onnx(proto, out_path)
    return out_path


def _simplify(proto):
    try:
        import onnxslim
    except ImportError:
        return proto
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return onnxslim.slim(proto)


def convert_fp16(src: str | Path, dst: str | Path) -> Path:
    """FP16 weights and compute, float32 inputs/outputs (keep_io_types), metadata precision=fp16."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from eemkit.export.metadata import read_onnx_metadata

    dst = check_out_path(dst)
    meta = read_onnx_metadata(src) or {}
    proto = onnx.load(str(src))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = convert_float_to_float16(proto, keep_io_types=True, disable_shape_infer=False)
    _toposort(half.graph)
    meta = dict(meta, precision="fp16", fp16={"keep_io_types": True, "converter": "onnxruntime.transformers.float16"})
    embed(half, meta)
    onnx.checker.check_model(half)
    save_onnx(half, dst)
    return dst


def _toposort(graph) -> None:
    """Reorder graph.node topologically (the FP16 converter appends its input casts at the end)."""
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        rest = []
        for node in pending:
            if all(i in available for i in node.input):
                ordered.append(node)
                available.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise UsageError("ONNX graph has a cycle or an undefined input; cannot sort it")
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)


def sample_input(spec: PreprocessSpec, n: int = 2, uint8_input: bool = False, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if uint8_input:
        return rng.integers(0, 256, (n, spec.input_size, spec.input_size, spec.channels), dtype=np.uint8)
    return rng.standard_normal((n, 3, spec.input_size, spec.input_size)).astype(np.float32)
