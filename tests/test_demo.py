import json

import numpy as np
import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    import cv2
    from skimage import data

    from conftest import FERPLUS

    d = tmp_path_factory.mktemp("photos")
    astro = data.astronaut()
    cv2.imwrite(str(d / "astronaut.png"), cv2.cvtColor(astro, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(d / "empty.png"), np.full((240, 320, 3), 127, np.uint8))
    # a real FER+ face, upscaled and pasted onto a scene (only where the real data is)
    real = FERPLUS / "FER2013Test" / "fer0032223.png"
    if real.is_file():
        fer = cv2.imread(str(real), cv2.IMREAD_GRAYSCALE)
        scene = np.full((360, 480, 3), 90, np.uint8)
        scene[60:300, 120:360] = cv2.cvtColor(cv2.resize(fer, (240, 240), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
        cv2.imwrite(str(d / "ferplus_scene.png"), scene)
    return d, astro[0:240, 105:345]


@pytest.fixture(scope="module")
def clip(photos, tmp_path_factory):
    from eemkit.demo.synthetic import make_face_video

    return make_face_video(tmp_path_factory.mktemp("clip") / "faces.mp4", [photos[1]], n_frames=20, face_px=300)


def test_predict_images_json(tiny_student, photos, tmp_path):
    d, _ = photos
    r = runner.invoke(app, ["predict", str(d / "astronaut.png"), str(d / "empty.png"), "--model", str(tiny_student),
                            "--json", "--annotate", str(tmp_path / "ann"), "--csv", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    recs = [x for x in res["records"] if x["file"].endswith("astronaut.png")]
    assert len(recs) == 1
    rec = recs[0]
    x, y, w, h = rec["box"]
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 200  # the astronaut's face
    assert abs(sum(rec["fine_probs"].values()) - 1) < 1e-4 and abs(sum(rec["coarse_probs"].values()) - 1) < 1e-4
    assert rec["coarse_label"] in ("positive", "negative", "neutral", "surprise")
    assert res["no_face"] == [str(d / "empty.png")]
    assert (tmp_path / "ann" / "astronaut.annotated.png").is_file()
    import csv

    with open(tmp_path / "p.csv", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert len(rows) == 1 and len(header) == len(set(header))  # fine and coarse share class names: no clash
    row = dict(zip(header, rows[0]))
    assert row["fine_label"] == rec["fine_label"] and float(row["pc_neutral"]) == pytest.approx(rec["coarse_probs"]["neutral"], abs=1e-4)


def test_predict_finds_pasted_ferplus_face(tiny_student, photos):
    d, _ = photos
    if not (d / "ferplus_scene.png").is_file():
        pytest.skip("needs the real FER+ data (set EEMKIT_DATA)")
    r = runner.invoke(app, ["predict", str(d / "ferplus_scene.png"), "--model", str(tiny_student), "--json"])
    assert r.exit_code == 0, r.output
    assert any(x["file"].endswith("ferplus_scene.png") for x in json.loads(r.stdout)["records"])


def test_predict_video_gives_records_per_frame(tiny_student, clip):
    r = runner.invoke(app, ["predict", str(clip), "--model", str(tiny_student), "--json"])
    assert r.exit_code == 0, r.output
    frames = {x["frame"] for x in json.loads(r.stdout)["records"] if x["file"].endswith(".mp4")}
    assert len(frames) >= 10


def test_demo_headless_on_generated_video(tiny_student, clip, tmp_path):
    import cv2

    out, recs = tmp_path / "out.mp4", tmp_path / "rec.jsonl"
    r = runner.invoke(app, ["demo", "--source", str(clip), "--model", str(tiny_student), "--headless", "--output", str(out),
                            "--records", str(recs), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["frames"] == 20 and res["faces"] >= 10 and res["fps"] > 0
    assert set(res["stage_ms"]) == {"detect", "preprocess", "infer", "postprocess"}
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640
    lines = [json.loads(x) for x in recs.read_text().splitlines()]
    assert len(lines) == 20 and sum(len(x["faces"]) for x in lines) == res["faces"]
    tracks = {f["track"] for x in lines for f in x["faces"]}
    assert len(tracks) <= 3  # one face moving across the frame keeps (nearly) one track


def test_bench_pipeline_mode(tiny_student, clip):
    r = runner.invoke(app, ["bench", str(tiny_student), "--pipeline", str(clip), "--json", "--threads", "1"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)["rows"][0]
    assert row["frames"] == 20 and row["fps"] > 0 and row["stage_ms"]["detect"] > 0


def test_demo_and_predict_bad_input(tiny_student, tmp_path):
    def bad(*args, code=2):
        r = runner.invoke(app, list(args))
        assert r.exit_code == code and "Traceback" not in r.output, r.output
        return " ".join(r.output.split())

    assert "--headless" in bad("demo", "--source", "0", "--model", str(tiny_student))  # headless OpenCV: no window
    assert "cannot open video source" in bad("demo", "--source", "7", "--model", str(tiny_student), "--headless", code=1)
    notvideo = tmp_path / "notvideo.mp4"
    notvideo.write_text("hello")
    msg = bad("demo", "--source", str(notvideo), "--model", str(tiny_student), "--headless", code=1)
    assert "cannot open video source" in msg or "no readable video frames" in msg
    wrong = tmp_path / "model.txt"
    wrong.write_text("x")
    assert "unknown model kind" in bad("predict", str(notvideo), "--model", str(wrong))
    assert "does not exist" in bad("predict", str(tmp_path / "none.png"), "--model", str(tiny_student))


def test_frame_of_wrong_format_is_rejected(tiny_student):
    from eemkit.runtime.faces import create_detector
    from eemkit.demo.pipeline import FramePipeline
    from eemkit.errors import UsageError
    from eemkit.runtime import open_runner

    with open_runner(tiny_student) as r:
        pipe = FramePipeline(r, create_detector("haar"))
        with pytest.raises(UsageError, match="RGB"):
            pipe(np.zeros((10, 10), np.uint8))
        assert pipe(np.zeros((120, 160, 3), np.uint8)) == []


def test_default_model_is_shipped_and_used(photos):
    from eemkit.demo.app import DEFAULT_MODEL
    from eemkit.export.metadata import read_onnx_metadata

    assert DEFAULT_MODEL.is_file(), "the package ships its default INT8 student"
    meta = read_onnx_metadata(DEFAULT_MODEL)
    assert meta["precision"] == "int8" and len(meta["classes"]) == 8
    assert DEFAULT_MODEL.stat().st_size < 15e6
    assert (DEFAULT_MODEL.parent / "MODEL_CARD.md").read_text().lower().count("research") >= 1
    d, _ = photos
    r = runner.invoke(app, ["predict", str(d / "astronaut.png"), "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["records"]) == 1
