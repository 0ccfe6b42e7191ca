"""predict and demo under hostile input (issue 14): unreadable files, bad outputs and sources, lost cameras."""

import contextlib
import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import huge_png, write_png
from eemkit.cli.app import app

runner = CliRunner()


def _one_line(r, code, text):
    return r.exit_code == code and "Traceback" not in r.output and text in " ".join(r.output.split())


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    for sub in ("a", "b"):
        write_png(d / sub / "img0.png", np.full((80, 80), 100 if sub == "a" else 150, np.uint8))
    return d


# ---------------------------------------------------------------- 2 / 16. unreadable inputs
def test_predict_on_an_image_over_the_pixel_limit_is_a_one_line_error(tiny_student, tmp_path):
    r = runner.invoke(app, ["predict", str(huge_png(tmp_path / "huge.png")), "--model", str(tiny_student)])
    assert _one_line(r, 1, "pixel limit"), r.output


def test_predict_reports_an_unreadable_file_and_goes_on(tiny_student, images, tmp_path):
    folder = tmp_path / "mixed"
    write_png(folder / "good.png", np.full((80, 80), 120, np.uint8))
    (folder / "bad.png").write_bytes(b"not a png")
    r = runner.invoke(app, ["predict", str(folder), "--model", str(tiny_student), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert [u["file"] for u in res["unreadable"]] == [str(folder / "bad.png")]
    # the readable file after it was processed: a face record or a "no face" entry
    assert str(folder / "good.png") in res["no_face"] + [x["file"] for x in res["records"]], res


# ---------------------------------------------------------------- 6. outputs checked before inference
def test_predict_csv_in_a_missing_folder_is_a_usage_error(tiny_student, images, tmp_path):
    r = runner.invoke(app, ["predict", str(images), "--model", str(tiny_student), "--csv", str(tmp_path / "nodir" / "x.csv")])
    assert _one_line(r, 2, "does not exist"), r.output


def test_demo_records_in_a_missing_folder_is_a_usage_error(tiny_student, tmp_path):
    r = runner.invoke(app, ["demo", "--source", "0", "--headless", "--model", str(tiny_student),
                            "--records", str(tmp_path / "nodir" / "r.jsonl")])
    assert _one_line(r, 2, "does not exist"), r.output


def test_every_file_predict_writes_is_written_atomically(tiny_student, images, tmp_path, monkeypatch):
    placed = set()
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst, **k: placed.add(os.path.abspath(dst)) or real_replace(src, dst, **k))
    r = runner.invoke(app, ["predict", str(images), "--model", str(tiny_student), "--annotate", str(tmp_path / "ann"),
                            "--csv", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    written = {os.path.abspath(p) for p in tmp_path.rglob("*") if p.is_file()}
    assert written - placed == set()


# ---------------------------------------------------------------- 13. annotated names never collide
def test_annotated_images_of_same_named_files_do_not_overwrite_each_other(tiny_student, images, tmp_path):
    r = runner.invoke(app, ["predict", str(images / "a" / "img0.png"), str(images / "b" / "img0.png"),
                            "--model", str(tiny_student), "--annotate", str(tmp_path / "ann")])
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "ann").rglob("*.png"))) == 2


# ---------------------------------------------------------------- 14. sources
def test_a_csi_source_without_a_sensor_number_is_a_usage_error(tiny_student):
    r = runner.invoke(app, ["demo", "--source", "csi://abc", "--headless", "--model", str(tiny_student)])
    assert _one_line(r, 2, "csi://0"), r.output


# ---------------------------------------------------------------- 15. a live source that stays lost
class DeadCamera:
    def isOpened(self):
        return True

    def read(self):
        return False, None

    def get(self, prop):
        return 30.0

    def release(self):
        pass


@pytest.fixture
def dead_camera(monkeypatch):
    from eemkit.demo.capture import Source

    monkeypatch.setattr(Source, "_open", lambda self: DeadCamera())
    monkeypatch.setattr("eemkit.demo.capture.time.sleep", lambda s: None)


def test_a_lost_live_source_exits_non_zero(tiny_student, dead_camera):
    r = runner.invoke(app, ["demo", "--source", "0", "--headless", "--model", str(tiny_student)])
    assert _one_line(r, 1, "lost video source"), r.output


def test_reopen_attempts_are_counted_up_to_the_limit(dead_camera):
    from eemkit.demo.capture import Source
    from eemkit.errors import EemkitError

    seen = []
    src = Source("0", retries=3, log=seen.append)
    with contextlib.suppress(EemkitError):
        list(src.frames())
    src.close()
    assert [m.rsplit("try ", 1)[1] for m in seen] == ["1/3)", "2/3)", "3/3)"]
