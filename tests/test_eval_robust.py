"""eval's outputs (issue 14, items 6 and 16): checked before the work, written atomically."""

import os

from typer.testing import CliRunner

from eemkit.cli.app import app

runner = CliRunner()


def test_eval_out_under_a_file_is_a_usage_error(tiny_student, ferplus_slice, tmp_path):
    (tmp_path / "file").write_text("x")
    r = runner.invoke(app, ["eval", str(tiny_student), "--data", str(ferplus_slice), "--out", str(tmp_path / "file" / "ev")])
    assert (r.exit_code, "Traceback" in r.output, "is a file" in r.output) == (2, False, True), r.output


def test_every_file_eval_writes_is_written_atomically(tiny_student, ferplus_slice, tmp_path, monkeypatch):
    placed = set()
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst, **k: placed.add(os.path.abspath(dst)) or real_replace(src, dst, **k))
    r = runner.invoke(app, ["eval", str(tiny_student), "--data", str(ferplus_slice), "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    assert {os.path.abspath(p) for p in (tmp_path / "ev").iterdir()} - placed == set()
