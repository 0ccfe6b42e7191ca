"""The checks behind `eemkit.export.trt_lint`: a read-only view of the ONNX graph and one function per
rule, each yielding Findings. Rule names and their one-line statements live in trt_lint.RULES."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Callable, Iterator

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from eemkit.export.trt_lint import (COMPUTE_OPS, MIXED_TYPE_OK, OPSET_MAX, OPSET_MIN, QDQ_OPS, RUNNER_OUTPUTS,
                                    SUPPORTED_OPS, Finding)

FLOAT_TYPES = frozenset({TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE})
MODEL = "(model)"


def type_name(t: int | None) -> str:
    return "unknown" if t is None else helper.tensor_dtype_to_string(t).replace("TensorProto.", "")


class GraphView:
    """Producers, readers, constants, element types (from ONNX shape inference) and eemkit metadata."""

    def __init__(self, proto) -> None:
        self.graph = proto.graph
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.nodes = list(self.graph.node)
        self.index = {id(n): i for i, n in enumerate(self.nodes)}
        self.inits = {t.name: t for t in self.graph.initializer}
        self.consts = {n.output[0]: a.t for n in self.nodes if n.op_type == "Constant"
                       for a in n.attribute if a.name == "value"}
        self.prod = {o: n for n in self.nodes for o in n.output}
        self.readers: dict[str, list] = defaultdict(list)
        for n in self.nodes:
            for i in n.input:
                self.readers[i].append(n)
        self.types = self._types(proto)
        self.meta = self._meta(proto)
        self.inputs = [i for i in self.graph.input if i.name not in self.inits]
        if any(n.op_type in QDQ_OPS for n in self.nodes):
            self.kind = "int8-qdq"
        elif self.meta.get("precision") == "fp16" or any(t.data_type == TensorProto.FLOAT16 for t in self.inits.values()):
            self.kind = "fp16"
        else:
            self.kind = "fp32"

    @staticmethod
    def _types(proto) -> dict[str, int]:
        from onnx import shape_inference

        try:
            inferred = shape_inference.infer_shapes(proto).graph
        except Exception:  # inference is best effort: a model it cannot type still gets the other rules
            inferred = proto.graph
        vis = list(inferred.input) + list(inferred.output) + list(inferred.value_info)
        types = {v.name: v.type.tensor_type.elem_type for v in vis if v.type.tensor_type.elem_type}
        types.update({t.name: t.data_type for t in proto.graph.initializer})
        types.update({n.output[0]: a.t.data_type for n in proto.graph.node if n.op_type == "Constant"
                      for a in n.attribute if a.name == "value"})
        return types

    @staticmethod
    def _meta(proto) -> dict:
        for p in proto.metadata_props:
            if p.key == "eemkit":
                try:
                    return json.loads(p.value)
                except json.JSONDecodeError:
                    return {}
        return {}

    def name(self, node) -> str:
        return node.name or f"{node.op_type}#{self.index[id(node)]}"

    def const(self, name: str) -> np.ndarray | None:
        t = self.inits.get(name) or self.consts.get(name)
        return None if t is None else numpy_helper.to_array(t)

    def is_const(self, name: str) -> bool:
        return name in self.inits or name in self.consts


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def rule_opset(g: GraphView) -> Iterator[Finding]:
    if not OPSET_MIN <= g.opset <= OPSET_MAX:
        yield Finding("opset", MODEL, f"default-domain opset {g.opset}; TensorRT 10.3 parses opset "
                      f"{OPSET_MIN}-{OPSET_MAX}: export with --opset 17")


def rule_ops(g: GraphView) -> Iterator[Finding]:
    for n in g.nodes:
        if n.domain not in ("", "ai.onnx"):
            yield Finding("op-domain", g.name(n), f"{n.domain}::{n.op_type} is a custom-domain op TensorRT cannot "
                          "parse; export without it (or provide a TensorRT plugin)")
        elif n.op_type not in SUPPORTED_OPS:
            yield Finding("op-supported", g.name(n), f"{n.op_type} is not imported by the TensorRT 10.3 ONNX parser; "
                          "replace it in the model or export at an opset where it decomposes")


def _quant_type(g: GraphView, n) -> int | None:
    if n.op_type == "DequantizeLinear":
        return g.types.get(n.input[0])
    explicit = _attr(n, "output_dtype", 0)  # opset 21+
    if explicit:
        return explicit
    if len(n.input) > 2 and n.input[2]:
        return g.types.get(n.input[2])
    return TensorProto.UINT8  # ONNX's default when QuantizeLinear has no zero point


def rule_qdq_int8(g: GraphView) -> Iterator[Finding]:
    for n in g.nodes:
        if n.op_type not in QDQ_OPS:
            continue
        t = _quant_type(g, n)
        if t is None or t == TensorProto.INT8:
            continue
        if t == TensorProto.INT32:
            why = ("an INT32 DequantizeLinear (a quantized bias): TensorRT dequantizes only INT8/FP8/FP4/INT4; "
                   "keep biases in float (re-export with --int8-target trt)")
        elif t == TensorProto.UINT8:
            why = ("UINT8 Q/DQ (the CPU target's unsigned activations): TensorRT takes signed symmetric INT8; "
                   "export with --int8-target trt")
        else:
            why = f"{type_name(t)} Q/DQ: eemkit's TensorRT path takes INT8 only"
        yield Finding("qdq-int8", g.name(n), why)


def rule_qdq_zero_point(g: GraphView) -> Iterator[Finding]:
    for n in g.nodes:
        if n.op_type not in QDQ_OPS or len(n.input) < 3 or not n.input[2]:
            continue
        zp = g.const(n.input[2])
        if zp is None:
            yield Finding("qdq-zero-point", g.name(n), f"zero point {n.input[2]} is computed at run time; "
                          "TensorRT needs a constant 0")
        elif np.any(zp != 0):
            yield Finding("qdq-zero-point", g.name(n), f"zero point {int(zp.flat[np.flatnonzero(zp)[0]])} (not 0): "
                          "TensorRT quantization is symmetric; export with --int8-target trt")


def rule_qdq_scale(g: GraphView) -> Iterator[Finding]:
    for n in g.nodes:
        if n.op_type not in QDQ_OPS:
            continue
        s = g.const(n.input[1])
        if s is None:
            yield Finding("qdq-scale", g.name(n), f"scale {n.input[1]} is computed at run time; TensorRT needs a "
                          "build-time constant")
        elif s.ndim > 1:
            yield Finding("qdq-scale", g.name(n), f"scale of rank {s.ndim}: INT8 takes a scalar (per tensor) or a "
                          "1-D scale (per channel)")
        elif not np.all(np.isfinite(s)) or np.any(s <= 0):
            yield Finding("qdq-scale", g.name(n), f"scale has a value that is not finite and positive "
                          f"(min {float(np.min(s)):.3g}); TensorRT needs strictly positive scales: recalibrate")


def _output_axis(reader, rank: int) -> int:
    """The output-channel axis of a compute op's weight (its input 1)."""
    if reader.op_type == "ConvTranspose":
        return 1
    if reader.op_type == "Gemm":
        return 0 if _attr(reader, "transB", 0) else 1
    if reader.op_type == "MatMul":
        return rank - 1
    return 0


def rule_qdq_axis(g: GraphView) -> Iterator[Finding]:
    for n in g.nodes:
        s = g.const(n.input[1]) if n.op_type in QDQ_OPS else None
        if s is None or s.ndim != 1 or s.size <= 1:
            continue
        w = g.const(n.input[0])
        if w is None:
            yield Finding("qdq-axis", g.name(n), f"per-channel scale ({s.size} values) on activation {n.input[0]}: "
                          "TensorRT quantizes activations per tensor")
            continue
        if n.op_type != "DequantizeLinear":
            continue
        axis = _attr(n, "axis", 1)
        axis = axis + w.ndim if axis < 0 else axis
        for r in g.readers.get(n.output[0], []):
            if r.op_type in COMPUTE_OPS and len(r.input) > 1 and r.input[1] == n.output[0]:
                want = _output_axis(r, w.ndim)
                if axis != want:
                    yield Finding("qdq-axis", g.name(n), f"per-channel weight scales on axis {axis}; the output "
                                  f"channels of {r.op_type} {g.name(r)} are axis {want}")
        if 0 <= axis < w.ndim and s.size != w.shape[axis]:
            yield Finding("qdq-axis", g.name(n), f"{s.size} scales for {w.shape[axis]} channels on axis {axis}")


def rule_qdq_conv_input(g: GraphView) -> Iterator[Finding]:
    if g.kind != "int8-qdq":
        return
    kept = set((g.meta.get("quantization") or {}).get("keep_fp32") or [])
    for n in g.nodes:
        if n.op_type not in COMPUTE_OPS:
            continue
        bare = [n.input[i] for i in (0, 1) if i < len(n.input) and
                getattr(g.prod.get(n.input[i]), "op_type", None) != "DequantizeLinear"]
        if not bare:
            continue
        if n.name in kept:
            yield Finding("qdq-conv-input", g.name(n), "kept in float by --keep-fp32: TensorRT runs it in "
                          "FP32/FP16", severity="warning")
        else:
            yield Finding("qdq-conv-input", g.name(n), f"{', '.join(bare)} not from a DequantizeLinear: this "
                          f"{n.op_type} would run in float; quantize it, or name it in --keep-fp32")


def rule_io(g: GraphView) -> Iterator[Finding]:
    if len(g.inputs) != 1:
        names = ", ".join(i.name for i in g.inputs) or "none"
        yield Finding("single-input", MODEL, f"{len(g.inputs)} graph inputs ({names}); eemkit's engines and "
                      "runners take exactly one")
    for inp in g.inputs[:1]:
        dims = list(inp.type.tensor_type.shape.dim)
        fixed = [d.dim_value > 0 for d in dims]
        if not dims or fixed[0]:
            batch = dims[0].dim_value if dims else "absent"
            yield Finding("dynamic-batch", inp.name, f"batch axis is {batch}, not dynamic: the engine's profile "
                          "needs a dynamic batch (eemkit export writes one)")
        elif not all(fixed[1:]):
            yield Finding("dynamic-batch", inp.name, "an axis other than the batch is dynamic; eemkit's engine "
                          "profile varies the batch only")
    for v, allowed in [(i, (TensorProto.FLOAT, TensorProto.UINT8)) for i in g.inputs] + \
                      [(o, (TensorProto.FLOAT,)) for o in g.graph.output]:
        t = v.type.tensor_type.elem_type
        if t not in allowed:
            yield Finding("io-float", v.name, f"{type_name(t)} graph I/O: the runner feeds float32 (or uint8 "
                          "pixels) and reads float32; keep I/O in float (FP16 export: keep_io_types)")


def rule_output_names(g: GraphView) -> Iterator[Finding]:
    names = [o.name for o in g.graph.output]
    missing = [n for n in RUNNER_OUTPUTS if n not in names]
    if missing:
        sev = "error" if g.meta else "warning"  # a foreign model is read by position
        yield Finding("output-names", MODEL, f"outputs {names} lack {', '.join(missing)}, which the runner reads "
                      "by name", severity=sev)
    listed = g.meta.get("outputs")
    if listed and list(listed) != names:
        yield Finding("output-names", MODEL, f"metadata lists outputs {list(listed)}, the graph has {names}")


def rule_mixed_types(g: GraphView) -> Iterator[Finding]:
    for n in g.nodes:
        if n.op_type in MIXED_TYPE_OK:
            continue
        kinds = sorted({g.types[i] for i in n.input if i in g.types} & FLOAT_TYPES)
        if len(kinds) > 1:
            yield Finding("mixed-types", g.name(n), f"{n.op_type} mixes {' and '.join(map(type_name, kinds))} "
                          "inputs; a strongly typed network rejects it: insert a Cast")


ALL_RULES: tuple[Callable[[GraphView], Iterator[Finding]], ...] = (
    rule_opset, rule_ops, rule_qdq_int8, rule_qdq_zero_point, rule_qdq_scale, rule_qdq_axis,
    rule_qdq_conv_input, rule_io, rule_output_names, rule_mixed_types)
