"""Offline TensorRT lint: the rules TensorRT's ONNX parser and explicit quantization impose that can be
checked on the ONNX file alone, before any device, GPU or TensorRT is involved.

Targets TensorRT 10.3 (JetPack 6.1 / 6.2) and TensorRT 11: a rule holds for both. Sources: the
onnx-tensorrt operator table (DequantizeLinear takes INT8/FP8/FP4/INT4 only, zero points must be 0,
opset 9-20 for TensorRT 10.0-10.8, 9-25 for 11) and the IQuantizeLayer / IDequantizeLayer contract
(symmetric, strictly positive scales, per-channel scales only on weights, along the output channels).
eemkit's own contract adds a single input with a dynamic batch and the output names the runner reads.

`lint_onnx(path)` returns a LintReport of typed Findings (rule, node, message, severity); it never
prints and never raises for a finding, only for an unreadable file (UsageError).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from eemkit.errors import UsageError

OPSET_MIN, OPSET_MAX = 9, 20  # TensorRT 10.0-10.8 parse opset 9-20; TensorRT 11 parses 9-25
RUNNER_OUTPUTS = ("fine_logits", "coarse_logits")

RULES: dict[str, str] = {
    "opset": f"default-domain opset within {OPSET_MIN}-{OPSET_MAX} (what TensorRT 10.3 and 11 both parse)",
    "op-domain": "no node from a custom domain (com.microsoft, ...): TensorRT has no parser for them",
    "op-supported": "every op type is one the TensorRT 10.3 and 11 ONNX parsers both import",
    "qdq-int8": "QuantizeLinear / DequantizeLinear quantized type is INT8 (not UINT8, not an INT32 bias)",
    "qdq-zero-point": "every Q/DQ zero point is 0 (TensorRT quantization is symmetric)",
    "qdq-scale": "every Q/DQ scale is a constant, finite, strictly positive scalar or 1-D tensor",
    "qdq-axis": "per-channel scales only on weights, along the output channels (axis 0 for Conv and Gemm transB=1)",
    "qdq-conv-input": "in a Q/DQ model every Conv/Gemm/MatMul data and weight input comes from a DequantizeLinear",
    "single-input": "exactly one graph input (the engine's optimisation profile covers one input)",
    "dynamic-batch": "the input's first axis is dynamic and its other axes fixed",
    "output-names": "the outputs the runner reads (fine_logits, coarse_logits) exist",
    "io-float": "inputs float32 (or uint8 pixels), outputs float32: an FP16 model keeps float I/O",
    "mixed-types": "no node mixes float32 and float16 inputs (strongly typed networks reject it)",
}

# Op types the TensorRT 10.3 and 11 ONNX parsers both import (onnx-tensorrt operators.md, "Y" rows that
# predate 10.3). Ops added later (Attention, RMSNormalization, STFT, window functions, ...) are left out.
SUPPORTED_OPS = frozenset("""
Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Cast CastLike Ceil
Celu Clip Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum DepthToSpace DequantizeLinear
Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor Gather GatherElements GatherND Gelu Gemm
GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization GRU
HardSigmoid HardSwish Hardmax Identity If ImageScaler InstanceNormalization IsInf IsNaN LayerNormalization
LeakyRelu Less LessOrEqual Log LogSoftmax Loop LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean
MeanVarianceNormalization Min Mod Mul Neg NonMaxSuppression NonZero Not OneHot Or Pad ParametricSoftplus Pow
PRelu QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1
ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare
Relu Reshape Resize ReverseSequence RNN RoiAlign Round ScaledTanh Scan Scatter ScatterElements ScatterND Selu
Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum
Tan Tanh ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
""".split())

COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
# ops whose float inputs may legitimately differ in type (a cast, a quantization scale, resize scales)
MIXED_TYPE_OK = frozenset({"Cast", "CastLike", "QuantizeLinear", "DequantizeLinear", "Resize", "Upsample"})


@dataclass(frozen=True)
class Finding:
    """One broken rule: `node` names the ONNX node (or graph tensor) and `message` says what to change."""

    rule: str
    node: str
    message: str
    severity: str = "error"  # error: TensorRT would refuse or the runner would fail; warning: runs, but look


@dataclass(frozen=True)
class LintReport:
    path: str
    kind: str  # fp32 | fp16 | int8-qdq
    opset: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self, limit: int = 3) -> str:
        """One line: the first `limit` errors as `rule at node: message`."""
        errs = self.errors
        shown = "; ".join(f"{f.rule} at {f.node}: {f.message}" for f in errs[:limit])
        more = f" (and {len(errs) - limit} more)" if len(errs) > limit else ""
        return (f"{self.path} fails the TensorRT lint with {len(errs)} error(s): {shown}{more}. "
                f"`eemkit check --lint {self.path}` lists them all")

    def to_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "opset": self.opset, "ok": self.ok,
                "errors": len(self.errors), "warnings": len(self.findings) - len(self.errors),
                "rules": RULES, "findings": [asdict(f) for f in self.findings]}


def lint_onnx(path: str | Path) -> LintReport:
    """Lint an ONNX file for TensorRT 10.3 / 11. Raises UsageError when it is missing or not ONNX."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"model file {p} does not exist")
    try:
        proto = onnx.load(str(p), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and others for a non-ONNX file
        raise UsageError(f"{p} is not a readable ONNX model ({type(err).__name__})") from None
    return lint_model(proto, str(p))


def require_lint_pass(path: str | Path) -> LintReport:
    """lint_onnx, raising LintFailed (exit code 5) when it finds an error."""
    from eemkit.errors import LintFailed

    report = lint_onnx(path)
    if not report.ok:
        raise LintFailed(report.summary())
    return report


def lint_model(proto, path: str = "<model>") -> LintReport:
    """Lint an onnx.ModelProto (see lint_onnx)."""
    from eemkit.export import trt_lint_rules as r

    g = r.GraphView(proto)
    findings: list[Finding] = []
    for rule in r.ALL_RULES:
        findings.extend(rule(g))
    return LintReport(path, g.kind, g.opset, tuple(findings))

