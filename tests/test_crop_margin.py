"""The crop margin around a detected face: each detector carries the margin that frames its box like the training
crops (benchmarks/crop_framing.py measured it on FER+ valid, benchmarks/README.md 7.16), and `predict`, `demo` and
the "demo" robustness condition use it unless --margin is given."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app
from eemkit.demo.app import DEFAULT_MODEL
from eemkit.runtime.faces import DEFAULT_MARGIN, Face, HaarDetector, WholeImage, crop_face, detector_margin

runner = CliRunner()


class FixedBox:
    """A detector that reports one fixed box: the pipeline's margin handling, without a detector's own errors."""

    name = "fixed"

    def __init__(self, box, margin=None):
        self.box = box
        if margin is not None:
            self.margin = margin

    def detect(self, rgb):
        return [Face(self.box)]


def test_detector_margin_prefers_the_given_one_then_the_detectors_own():
    assert detector_margin(FixedBox((0, 0, 10, 10), margin=0.3)) == 0.3
    assert detector_margin(FixedBox((0, 0, 10, 10), margin=0.3), 0.0) == 0.0  # 0 is a margin, not "unset"
    assert detector_margin(FixedBox((0, 0, 10, 10))) == DEFAULT_MARGIN  # a detector that names none
    assert detector_margin(HaarDetector()) == HaarDetector.margin
    assert detector_margin(WholeImage()) == 0.0


@pytest.mark.parametrize("margin", [0.0, 0.05, 0.25])
def test_crop_side_is_the_box_side_widened_by_the_margin(margin):
    frame = np.zeros((200, 300, 3), np.uint8)
    crop = crop_face(frame, Face((100, 50, 80, 60)), margin)  # the larger side (80) sets the square
    assert crop.shape == (round(80 * (1 + 2 * margin)),) * 2 + (3,)


@pytest.fixture
def crop_margins(monkeypatch) -> list[float]:
    """The margins the real crop_face is called with, by the frame pipeline and by the demo robustness condition."""
    import eemkit.demo.pipeline
    import eemkit.runtime.faces

    seen: list[float] = []

    def recording(rgb, face, margin=DEFAULT_MARGIN):
        seen.append(margin)
        return crop_face(rgb, face, margin)

    monkeypatch.setattr(eemkit.demo.pipeline, "crop_face", recording)
    monkeypatch.setattr(eemkit.runtime.faces, "crop_face", recording)
    return seen


def test_frame_pipeline_crops_with_the_detectors_margin_unless_told(tiny_student, crop_margins):
    from eemkit.demo.pipeline import FramePipeline
    from eemkit.runtime import open_runner

    with open_runner(tiny_student) as r:
        for det, margin, want in ((FixedBox((20, 20, 40, 40), 0.3), None, 0.3), (FixedBox((20, 20, 40, 40), 0.3), 0.1, 0.1),
                                  (FixedBox((20, 20, 40, 40)), None, DEFAULT_MARGIN), (FixedBox((20, 20, 40, 40), 0.3), 0.0, 0.0)):
            crop_margins.clear()
            res = FramePipeline(r, det, margin=margin, smoothing=0.0)(np.full((100, 120, 3), 128, np.uint8))
            assert crop_margins == [want] and [f.box for f in res] == [(20, 20, 40, 40)]


@pytest.fixture(scope="module")
def face_png(tmp_path_factory):
    """A photo with a face the Haar cascade finds (scikit-image's astronaut)."""
    import cv2
    from skimage import data

    path = tmp_path_factory.mktemp("face") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(data.astronaut()[0:240, 105:345]), cv2.COLOR_RGB2BGR))
    return path


def test_predict_crops_with_the_detectors_margin_and_reports_it(tiny_student, face_png, crop_margins):
    crops = runner.invoke(app, ["predict", str(face_png), "--model", str(tiny_student), "--crops", "--json"])
    assert crops.exit_code == 0, crops.output
    assert (json.loads(crops.stdout)["detector"], json.loads(crops.stdout)["margin"]) == ("none", 0.0)
    for extra, want in (([], HaarDetector.margin), (["--margin", "0.2"], 0.2)):
        crop_margins.clear()
        r = runner.invoke(app, ["predict", str(face_png), "--model", str(tiny_student), "--detector", "haar", "--json", *extra])
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert (res["detector"], res["margin"], len(res["records"])) == ("haar", want, 1)
        assert crop_margins == [want]


def test_predict_crops_refuses_a_margin(tiny_student, face_png):
    r = runner.invoke(app, ["predict", str(face_png), "--model", str(tiny_student), "--crops", "--margin", "0.3"])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "--margin" in " ".join(r.output.split())


def test_demo_condition_crops_each_found_face_at_the_margin_its_row_names(tiny_student, monkeypatch, crop_margins):
    """A detector that finds exactly the placed face (the box place_in_frame returned): every face is found, and
    each is cropped at the detector's margin, or at the one given."""
    import eemkit.eval.robustness as rb
    from eemkit.runtime import open_runner

    placed = []
    real = rb.place_in_frame

    def placing(img, rng, *args, **kwargs):
        frame, box = real(img, rng, *args, **kwargs)
        placed.append(box)
        return frame, box

    class Oracle:
        name, margin = "oracle", 0.2

        def detect(self, rgb):
            return [Face(placed[-1])]

    monkeypatch.setattr(rb, "place_in_frame", placing)
    images = [np.random.default_rng(i).integers(0, 255, (48, 48), dtype=np.uint8) for i in range(5)]
    y = np.zeros(5, dtype=np.int64)
    with open_runner(tiny_student, threads=1) as r:
        for margin, want in ((None, 0.2), (0.0, 0.0)):
            crop_margins.clear()
            row = rb.robustness(r, images, y, ["demo"], priors=("train",), detector=Oracle(), margin=margin)[0]
            assert (row.recall, row.detector, row.margin, crop_margins) == (100.0, "oracle", want, [want] * 5)


def test_eval_demo_condition_records_its_detector_and_margin(ferplus_slice, tmp_path):
    def demo_row(*extra):
        r = runner.invoke(app, ["eval", str(DEFAULT_MODEL), "--data", str(ferplus_slice), "--conditions", "demo",
                                "--threads", "1", "--limit", "8", "--out", str(tmp_path / f"e{len(extra)}"), "--json", *extra])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)["robustness"][0]

    row = demo_row()
    assert (row["detector"], row["margin"]) == ("haar", HaarDetector.margin)
    assert demo_row("--margin", "0.3")["margin"] == 0.3


def test_eval_margin_without_the_demo_condition_is_refused(ferplus_slice, tmp_path):
    for extra in ([], ["--conditions", "jpeg"]):
        r = runner.invoke(app, ["eval", str(DEFAULT_MODEL), "--data", str(ferplus_slice), "--margin", "0.1",
                                "--out", str(tmp_path / "out"), *extra])
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        assert "--robustness" in " ".join(r.output.split())
        assert not (tmp_path / "out" / "metrics.json").exists()


def test_demo_crops_with_the_margin_it_is_given(astronaut_clip, crop_margins):
    common = ["demo", "--source", str(astronaut_clip), "--model", str(DEFAULT_MODEL), "--headless", "--threads", "1",
              "--json", "--detector", "haar", "--max-frames", "2"]
    for extra, want in (([], HaarDetector.margin), (["--margin", "0.25"], 0.25)):
        crop_margins.clear()
        r = runner.invoke(app, [*common, *extra])
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert (res["detector"], res["margin"], res["faces"] > 0) == ("haar", want, True)
        assert crop_margins and set(crop_margins) == {want}
    bad = runner.invoke(app, [*common, "--margin", "-0.1"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
