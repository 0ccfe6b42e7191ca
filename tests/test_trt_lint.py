"""The offline TensorRT lint: hand-built Q/DQ graphs that break one rule each, and real exports."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from conftest import ROOT
from eemkit.cli.app import app
from eemkit.errors import EXIT_LINT
from eemkit.export.trt_lint import RULES, lint_model, lint_onnx

runner = CliRunner()
CPU_MODEL = ROOT / "eemkit" / "assets" / "default-student.int8.onnx"  # shipped CPU-target (U8) Q/DQ model


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _qdq(x, out, scale, zp, axis=None, node="q"):
    """QuantizeLinear -> DequantizeLinear on activation x (scale and zero point named in the initializers)."""
    kw = {} if axis is None else {"axis": axis}
    return [helper.make_node("QuantizeLinear", [x, scale, zp], [out + "_q"], name=f"{node}_Q", **kw),
            helper.make_node("DequantizeLinear", [out + "_q", scale, zp], [out], name=f"{node}_DQ", **kw)]


def qdq_model(act_zp=np.int8(0), w_axis=0, batch="N", int32_bias=False, conv_input_dq=True, opset=17,
              out_names=("fine_logits", "coarse_logits"), w_scale=None, act_scale=np.float32(0.05), custom_op=False):
    """Input -> Q/DQ -> Conv (per-channel INT8 weights) -> GAP -> Flatten -> Q/DQ -> two Gemm heads.
    Every knob at its default gives a graph TensorRT takes; each test turns one knob."""
    rng = np.random.default_rng(0)
    inits = [_init("s_x", act_scale), _init("zp_x", act_zp), _init("s_f", np.float32(0.02)), _init("zp_f", np.int8(0)),
             _init("W", rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8)),
             _init("s_W", np.full(4 if w_axis == 0 else 3, 0.01, np.float32) if w_scale is None else w_scale),
             _init("zp_W", np.zeros(4 if w_axis == 0 else 3, np.int8))]
    nodes = _qdq("input", "x_dq", "s_x", "zp_x", node="in")
    nodes.append(helper.make_node("DequantizeLinear", ["W", "s_W", "zp_W"], ["W_dq"], name="W_DQ", axis=w_axis))
    if int32_bias:
        inits += [_init("B_i32", np.zeros(4, np.int32)), _init("s_B", np.full(4, 5e-4, np.float32))]
        nodes.append(helper.make_node("DequantizeLinear", ["B_i32", "s_B"], ["B"], name="bias_DQ", axis=0))
    else:
        inits.append(_init("B", np.zeros(4, np.float32)))
    nodes += [helper.make_node("Conv", ["x_dq" if conv_input_dq else "input", "W_dq", "B"], ["c"], name="conv",
                               pads=[1, 1, 1, 1]),
              helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
              helper.make_node("Flatten", ["g"], ["f"], name="flatten")]
    nodes += _qdq("f", "f_dq", "s_f", "zp_f", node="feat")
    for head, k in zip(out_names, (8, 4)):
        inits += [_init(f"{head}_W", rng.integers(-127, 128, (k, 4), dtype=np.int8)),
                  _init(f"{head}_s", np.full(k, 0.01, np.float32)), _init(f"{head}_zp", np.zeros(k, np.int8)),
                  _init(f"{head}_B", np.zeros(k, np.float32))]
        nodes += [helper.make_node("DequantizeLinear", [f"{head}_W", f"{head}_s", f"{head}_zp"], [f"{head}_Wdq"],
                                   name=f"{head}_W_DQ", axis=0),
                  helper.make_node("Gemm", ["f_dq", f"{head}_Wdq", f"{head}_B"], [head], name=f"{head}_gemm", transB=1)]
    if custom_op:
        nodes.insert(0, helper.make_node("FusedGelu", ["input"], ["unused"], name="custom", domain="com.microsoft"))
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 8, 8])],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [batch, k])
                               for n, k in zip(out_names, (8, 4))], inits)
    imports = [helper.make_opsetid("", opset)] + ([helper.make_opsetid("com.microsoft", 1)] if custom_op else [])
    return helper.make_model(graph, opset_imports=imports)


def _found(report) -> set[tuple[str, str]]:
    return {(f.rule, f.node) for f in report.errors}


def test_a_well_formed_qdq_graph_passes():
    report = lint_model(qdq_model())
    assert report.ok, report.findings


@pytest.mark.parametrize("knobs, rule, node", [
    ({"int32_bias": True}, "qdq-int8", "bias_DQ"),
    ({"act_zp": np.uint8(128)}, "qdq-int8", "in_Q"),
    ({"act_zp": np.int8(3)}, "qdq-zero-point", "in_DQ"),
    ({"act_scale": np.float32(-0.05)}, "qdq-scale", "in_Q"),
    ({"w_axis": 1}, "qdq-axis", "W_DQ"),
    ({"act_scale": np.full(3, 0.05, np.float32)}, "qdq-axis", "in_Q"),
    ({"conv_input_dq": False}, "qdq-conv-input", "conv"),
    ({"batch": 1}, "dynamic-batch", "input"),
    ({"opset": 21}, "opset", "(model)"),
    ({"custom_op": True}, "op-domain", "custom"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_broken_rule_is_named_with_its_node(knobs, rule, node):
    assert (rule, node) in _found(lint_model(qdq_model(**knobs)))


def test_missing_runner_outputs_are_an_error_for_an_eemkit_model():
    proto = qdq_model(out_names=("logits", "coarse"))
    proto.metadata_props.add(key="eemkit", value=json.dumps({"precision": "int8"}))
    assert ("output-names", "(model)") in _found(lint_model(proto))


def test_fp16_model_with_float16_io_and_a_mixed_type_add_is_flagged():
    nodes = [helper.make_node("Add", ["input", "bias16"], ["fine_logits"], name="add_mixed")]
    graph = helper.make_graph(nodes, "fp16", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("fine_logits", TensorProto.FLOAT16, ["N", 4])],
                              [_init("bias16", np.zeros(4, np.float16))])
    found = _found(lint_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])))
    assert {("mixed-types", "add_mixed"), ("io-float", "fine_logits")} <= found


def test_every_rule_is_documented():
    from eemkit.export.trt_lint_rules import ALL_RULES

    produced = {"opset", "op-domain", "op-supported", "qdq-int8", "qdq-zero-point", "qdq-scale", "qdq-axis",
                "qdq-conv-input", "single-input", "dynamic-batch", "output-names", "io-float", "mixed-types"}
    assert set(RULES) == produced and len(ALL_RULES) == 10


@pytest.fixture(scope="module")
def trt_export(tiny_student, ferplus_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("trt") / "art"
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--int8", "--int8-target", "trt",
                            "--calib-data", str(ferplus_slice), "--calib-n", "40", "--probs", "--json"])
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


def test_trt_export_passes_the_lint(trt_export):
    out, _ = trt_export
    report = lint_onnx(out / "model.int8-trt.onnx")
    assert report.ok, [f for f in report.errors]


def test_trt_export_has_no_int32_dequantize(trt_export):
    out, _ = trt_export
    m = onnx.load(str(out / "model.int8-trt.onnx"))
    inits = {t.name: t.data_type for t in m.graph.initializer}
    assert [n.name for n in m.graph.node if n.op_type == "DequantizeLinear"
            and inits.get(n.input[0]) == TensorProto.INT32] == []


def test_trt_export_keeps_the_logits_in_float(trt_export):
    out, _ = trt_export
    m = onnx.load(str(out / "model.int8-trt.onnx"))
    producer = {o: n.op_type for n in m.graph.node for o in n.output}
    assert {o.name: producer[o.name] for o in m.graph.output if o.name.endswith("logits")} == {
        "fine_logits": "Div", "coarse_logits": "Gemm"}


def test_trt_export_records_the_lint_in_export_json(trt_export):
    _, res = trt_export
    assert res["artifacts"]["onnx-int8"]["trt_lint"] == {"ok": True, "errors": 0, "findings": 0}


def test_check_lint_fails_the_cpu_target_model_with_exit_5():
    r = runner.invoke(app, ["check", "--lint", str(CPU_MODEL), "--json"])
    assert r.exit_code == EXIT_LINT and {"qdq-int8", "qdq-zero-point"} <= {f["rule"] for f in json.loads(r.stdout)["findings"]}


def test_check_lint_table_fits_80_columns(monkeypatch):
    import io

    from rich.console import Console

    from eemkit.cli import check as check_cli

    out = io.StringIO()  # an 80-column terminal, whatever $COLUMNS the test run has (CI exports 120)
    monkeypatch.setattr(check_cli, "console", Console(file=out, width=80, color_system=None))
    r = runner.invoke(app, ["check", "--lint", str(CPU_MODEL)])
    assert r.exit_code == EXIT_LINT and "qdq-int8" in out.getvalue()
    assert max(len(line) for line in out.getvalue().splitlines()) <= 80


def test_trt_export_that_fails_the_lint_exits_5_after_writing_export_json(tiny_student, ferplus_slice, tmp_path,
                                                                          monkeypatch):
    import eemkit.export.api as api

    broken = lint_model(qdq_model(int32_bias=True), "model.int8-trt.onnx")
    monkeypatch.setattr(api, "lint_onnx", lambda path: broken)
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(tmp_path / "o"), "--int8", "--int8-target", "trt",
                            "--calib-data", str(ferplus_slice), "--calib-n", "40", "--probs"])
    assert (r.exit_code, (tmp_path / "o" / "export.json").is_file()) == (EXIT_LINT, True), r.output
