"""What a careless or hostile user does to the runtime verbs (found by a hostile-input review): each case
must end as a one-line error and a non-zero exit, or as the one input skipped, and never destroy an input or
an earlier output. Uses the shipped default model (ONNX Runtime only) and synthetic images."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app, run
from eemkit.demo.app import DEFAULT_MODEL

runner = CliRunner()
CLASSES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]


def _eemkit(*args, timeout: float = 120, shell_prefix: str = "") -> subprocess.CompletedProcess:
    """`python -m eemkit ARGS` in a child process (a crash or a hang there fails the test, not the session);
    `shell_prefix`: a redirection applied by sh before exec (`>&-`, `>/dev/full`)."""
    cmd = [sys.executable, "-m", "eemkit", *map(str, args)]
    if shell_prefix:
        cmd = ["sh", "-c", f'exec "$0" "$@" {shell_prefix}', *cmd]
    return subprocess.run(cmd, capture_output=not shell_prefix, stderr=subprocess.PIPE if shell_prefix else None,
                          text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _face(path: Path, size: int = 48) -> Path:
    import cv2

    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 255, (size, size), dtype=np.uint8))
    return path


def _cli(*args: str, code: int | None = None) -> tuple[int, str]:
    r = runner.invoke(app, [str(a) for a in args])
    out = " ".join(r.output.split())
    assert "Traceback" not in r.output, r.output
    if code is not None:
        assert r.exit_code == code, r.output
    return r.exit_code, out


def _prior(path: Path, weights: dict | str) -> Path:
    path.write_text(weights if isinstance(weights, str) else json.dumps(weights))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from eemkit.demo.synthetic import make_face_video

    rng = np.random.default_rng(1)
    return make_face_video(tmp_path_factory.mktemp("clip") / "v.mp4", [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)],
                           n_frames=8)


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux file systems take file names that are not UTF-8")
def test_file_name_that_is_not_utf8_is_read_not_a_crash(tmp_path):
    """OpenCV's imread and VideoCapture crash the process (SIGSEGV) on such a name; eemkit decodes image bytes
    itself and refuses such a video name or URL."""
    from eemkit.errors import EemkitError
    from eemkit.io_utils import cv2_path

    name = os.fsdecode(b"x\xff.png")
    img = _face(tmp_path / "ok.png")
    (tmp_path / name).write_bytes(img.read_bytes())
    with pytest.raises(EemkitError, match="not valid UTF-8"):
        cv2_path(tmp_path / name, "video")
    p = _eemkit("predict", tmp_path, "--crops", "--json")  # in a child: a crash must not end the test session
    assert p.returncode == 0, p.stderr
    files = [rec["file"] for rec in json.loads(p.stdout)["records"]]
    assert len(files) == 2 and any(f.endswith("x\\xff.png") for f in files)
    p = _eemkit("demo", "--headless", "--source", os.fsdecode(b"rtsp://h\xff/x"))
    assert p.returncode == 1 and "not valid UTF-8" in p.stderr, p.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_and_folders_named_like_images_are_not_read(tmp_path):
    _face(tmp_path / "a.png")
    os.mkfifo(tmp_path / "b.png")  # opening it for reading would block forever
    (tmp_path / "c.png").mkdir()
    p = _eemkit("predict", tmp_path, "--crops", "--json", timeout=60)  # a hang fails here, it does not stall the run
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert [Path(r["file"]).name for r in res["records"]] == ["a.png"] and res["unreadable"] == []
    p = _eemkit("predict", tmp_path / "b.png", "--crops", timeout=60)
    assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr


def test_outputs_never_overwrite_inputs(tmp_path, clip):
    img = _face(tmp_path / "v.png")
    before = img.read_bytes()
    _, out = _cli("predict", img, "--crops", "--csv", img, code=2)
    assert "is also an input" in out and img.read_bytes() == before
    src = clip.read_bytes()
    for opt in ("--out", "--records"):
        _, out = _cli("demo", "--headless", "--source", clip, opt, clip, code=2)
        assert "is also an input" in out
    assert clip.read_bytes() == src
    model = tmp_path / "m.onnx"
    model.write_bytes(DEFAULT_MODEL.read_bytes())
    _, out = _cli("demo", "--headless", "--source", clip, "--model", model, "--records", model, code=2)
    assert "is also an input" in out and model.read_bytes() == DEFAULT_MODEL.read_bytes()


def test_a_bad_option_never_empties_an_earlier_records_file(tmp_path, clip):
    records = tmp_path / "r.jsonl"
    records.write_text("earlier run\n")
    bad = _prior(tmp_path / "bad.json", '{"neutral": ')
    _, out = _cli("demo", "--headless", "--source", clip, "--records", records, "--class-prior", bad, code=2)
    assert "not a readable JSON file" in out
    _cli("demo", "--headless", "--source", clip, "--records", records, "--model", tmp_path / "missing.onnx", code=2)
    assert records.read_text() == "earlier run\n"
    _cli("demo", "--headless", "--source", clip, "--records", records, "--max-frames", 3, code=0)
    assert len(records.read_text().splitlines()) == 3


def test_demo_out_needs_a_video_extension_and_streams_are_named_as_given(tmp_path, clip):
    _, out = _cli("demo", "--headless", "--source", clip, "--out", tmp_path / "x.txt2", code=2)
    assert "must end in .mp4" in out
    _, out = _cli("demo", "--headless", "--source", clip, "--out", "rtsp://host/path", code=2)
    assert "rtsp://host/path" in out


def test_tiny_and_extreme_images(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "strip.png"), np.zeros((2, 5000, 3), np.uint8))
    _face(tmp_path / "ok.png")
    res = json.loads(runner.invoke(app, ["predict", str(tmp_path), "--json", "--detector", "haar"]).stdout)
    reasons = {Path(u["file"]).name: u["reason"] for u in res["unreadable"]}
    assert "too small to classify" in reasons["one.png"]
    assert "strip.png" in {Path(f).name for f in res["no_face"]}  # detected (nothing found), not a crash
    from eemkit.runtime.faces import create_detector

    assert create_detector("haar").detect(np.zeros((2, 5000, 3), np.uint8)) == []


def test_annotations_inside_the_input_folder_are_not_read_back(tmp_path):
    _face(tmp_path / "x.png")
    for _ in range(2):
        r = runner.invoke(app, ["predict", str(tmp_path), "--crops", "--annotate", str(tmp_path / "ann"), "--json"])
        assert r.exit_code == 0, r.output
        assert [Path(rec["file"]).name for rec in json.loads(r.stdout)["records"]] == ["x.png"]
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == ["x.annotated.png"]


def test_annotate_folder_with_a_file_in_the_way_skips_that_input(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        _face(tmp_path / "in" / sub / "x.png")
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "a").write_text("a file where predict wants a folder")
    r = runner.invoke(app, ["predict", str(tmp_path / "in"), "--crops", "--annotate", str(tmp_path / "ann"), "--json"])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    res = json.loads(r.stdout)
    assert len(res["records"]) == 1 and "a file of that name is in the way" in res["unreadable"][0]["reason"]


@pytest.mark.parametrize("weights, message", [
    ('{"neutral": 1, "neutral": 2}', "appears twice"),
    ({"joy": 1}, "unknown classes ['joy']"),
    ({**{c: 0.1 for c in CLASSES}, "neutral": 10 ** 400}, "finite number"),
    ({c: float("1e308") for c in CLASSES}, None),  # sums to inf unless scaled first: must be uniform, not an error
])
def test_prior_files(tmp_path, weights, message):
    f = _prior(tmp_path / "p.json", weights)
    code, out = _cli("predict", _face(tmp_path / "x.png"), "--crops", "--class-prior", f, "--json")
    if message is None:
        from eemkit.priors import _read_prior_file

        assert code == 0 and np.allclose(_read_prior_file(f, CLASSES), 1 / 8)
    else:
        assert code == 2 and message in out and "--class-prior" in out


def test_prior_metadata_with_nan_is_refused():
    from dataclasses import replace

    from eemkit.errors import UsageError
    from eemkit.priors import prior_shift
    from eemkit.runtime import open_runner

    with open_runner(DEFAULT_MODEL) as r:
        meta = replace(r.meta, class_prior=(float("nan"),) + tuple(r.meta.class_prior[1:]))
    with pytest.raises(UsageError, match="malformed"):
        prior_shift(meta, "uniform")


def test_eval_with_a_prior_file_in_a_folder(tmp_path):
    """The prior's name, not its path, names the figures and keys; the same file twice counts once."""
    from conftest import make_ferplus_slice

    data = make_ferplus_slice(tmp_path / "fer", per_class=2)
    (tmp_path / "priors").mkdir()
    f = _prior(tmp_path / "priors" / "deploy.json", {c: 1 for c in CLASSES})
    code, out = _cli("eval", DEFAULT_MODEL, "--data", data, "--class-prior", "train", "--class-prior", f, "--class-prior",
                     tmp_path / "priors" / ".." / "priors" / "deploy.json", "--out", tmp_path / "ev", "--json")
    assert code == 0, out
    res = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert list(res["priors"]) == ["train", "deploy.json"]
    from eemkit.eval.evaluate import prior_keys

    other = tmp_path / "other" / "deploy.json"  # two files of one name: both kept, by path
    assert list(prior_keys([str(f), str(other)]).values()) == [str(f), str(other)]


def test_eval_checks_conditions_before_the_work(tmp_path):
    _, out = _cli("eval", DEFAULT_MODEL, "--conditions", ",", "--out", tmp_path, code=2)
    assert "condition names" in out
    _, out = _cli("eval", DEFAULT_MODEL, "--data", tmp_path / "nothing-here", "--conditions", "bogus", "--out", tmp_path, code=2)
    assert "unknown robustness condition" in out  # before the (missing) data is read


def test_eval_of_the_shipped_model_writes_outside_the_package(tmp_path):
    from eemkit.cli.eval import default_out

    assert default_out(DEFAULT_MODEL, "test") == Path("eval-default-student.int8-test")
    assert default_out(tmp_path / "m.onnx", "valid") == tmp_path / "eval-valid"


def test_limits_and_pipeline_options(tmp_path, clip):
    for verb in (["bench", DEFAULT_MODEL], ["check", DEFAULT_MODEL, "--reference", DEFAULT_MODEL]):
        _, out = _cli(*verb, "--limit", "0", code=2)
        assert "--limit" in out
    _, out = _cli("bench", DEFAULT_MODEL, "--pipeline", clip, "--csv", tmp_path / "x.csv", code=2)
    assert "--csv is for the format benchmark" in out and not (tmp_path / "x.csv").exists()
    _, out = _cli("bench", DEFAULT_MODEL, "--pipeline", clip, "--min-time", "3", "--device", "cuda", code=2)
    assert "--device, --min-time are for the format benchmark" in out
    from eemkit.data.datasets import read_split_images
    from eemkit.errors import UsageError

    with pytest.raises(UsageError, match="at least 1"):
        read_split_images(tmp_path, "folder", "test", limit=-40)


def test_atomic_writes_keep_the_file_mode(tmp_path):
    from eemkit.io_utils import atomic_write_text

    old = tmp_path / "old.csv"
    old.write_text("x")
    old.chmod(0o604)  # neither mkstemp's 0600 nor what a umask gives: only kept if it is read from the file
    atomic_write_text(old, "y")
    assert stat.S_IMODE(old.stat().st_mode) == 0o604
    mask = os.umask(0o027)
    try:
        new = atomic_write_text(tmp_path / "new.csv", "z")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640


def test_command_line_mistakes_are_one_line_errors(capsys):
    assert run(["predict", "x.png", "--threads", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1 and "--threads" in err
    assert run(["bench", "m.onnx", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_closed_stdout_is_a_one_line_error(tmp_path):
    img = _face(tmp_path / "x.png")
    p = _eemkit("predict", img, "--crops", "--json", shell_prefix=">&-")
    assert p.returncode == 1 and "standard output is closed" in p.stderr and "Traceback" not in p.stderr, p.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full (Linux) to fill standard output")
def test_full_stdout_is_a_one_line_error(tmp_path):
    img = _face(tmp_path / "x.png")
    for args in (["--json"], []):  # the JSON and the table
        p = _eemkit("predict", img, "--crops", *args, shell_prefix=">/dev/full")
        assert p.returncode == 1 and "Traceback" not in p.stderr and "error: cannot write to standard output" in p.stderr, p.stderr


SIGTERM_CHILD = """
import os, signal, sys, time
import typer
from eemkit.cli.common import user_errors
before = signal.getsignal(signal.SIGTERM)
@user_errors
def long_command():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    finally:
        print("clean-up ran")
try:
    long_command()
except typer.Exit as e:
    print("restored" if signal.getsignal(signal.SIGTERM) == before else "not restored")
    sys.exit(e.exit_code)
"""


def test_sigterm_ends_a_runtime_command_like_ctrl_c():
    """SIGTERM (kill, systemd, docker stop) runs the same clean-up as Ctrl-C, says so and exits 143 (in a child:
    a broken handler must not kill the test session)."""
    p = subprocess.run([sys.executable, "-c", SIGTERM_CHILD], capture_output=True, text=True, timeout=60)
    assert p.returncode == 143 and p.stdout.split() == ["clean-up", "ran", "restored"], (p.stdout, p.stderr)
    assert p.stderr.strip() == "terminated"
