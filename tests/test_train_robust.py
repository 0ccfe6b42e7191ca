"""Training under hostile input (issue 14): bad data, bad outputs, full disks, signals, resumes."""

import os
import signal

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import face_like, huge_png, make_synthetic_ferplus, write_png
from eemkit.cli.app import app
from eemkit.config import resolve_config
from eemkit.errors import EemkitError, UsageError
from eemkit.train.checkpoint import load_checkpoint
from eemkit.train.loop import train

runner = CliRunner()


def _cfg(data, out, fmt="ferplus", **optim):
    o = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "max_steps_per_epoch": 2, "probe_every": 0, **optim}
    return resolve_config(None, [{"stage": "student", "out": str(out), "data": {"path": str(data), "format": fmt, "input_size": 32},
                                  "loss": {"loss": "ce", "distill": False}, "optim": o}])


class Messages:
    def __init__(self, on_step=None):
        self.seen, self.steps, self.on_step = [], 0, on_step

    def start_epoch(self, *a): ...
    def end_epoch(self, row): ...

    def step(self, images, loss):
        self.steps += 1
        if self.on_step:
            self.on_step(self.steps)

    def message(self, text):
        self.seen.append(text)


# ---------------------------------------------------------------- 1. model selection never on test
@pytest.fixture(scope="module")
def no_valid(tmp_path_factory):
    return make_synthetic_ferplus(tmp_path_factory.mktemp("novalid"), {"train": 16, "test": 8})


def test_training_without_a_valid_split_never_reads_the_test_split(no_valid, tmp_path, monkeypatch):
    import eemkit.train.loop as loop

    seen = []
    orig = loop.load_split
    monkeypatch.setattr(loop, "load_split", lambda root, fmt, split, *a, **k: seen.append(split) or orig(root, fmt, split, *a, **k))
    train(_cfg(no_valid, tmp_path / "o"))
    assert "test" not in seen


def test_training_without_a_valid_split_holds_out_training_images_and_says_so(no_valid, tmp_path):
    msgs = Messages()
    res = train(_cfg(no_valid, tmp_path / "o"), reporter=msgs)
    assert "val_accuracy" in res.history[0] and any("held out" in m for m in msgs.seen), msgs.seen


# ---------------------------------------------------------------- 2. images over OpenCV's pixel limit
@pytest.fixture
def with_huge(tmp_path):
    root = make_synthetic_ferplus(tmp_path / "huge", {"train": 4, "valid": 2})
    huge_png(root / "FER2013Train" / "huge.png")
    with open(root / "FER2013Train" / "label.csv", "a") as fh:
        fh.write('huge.png,"(0, 0, 48, 48)",10,0,0,0,0,0,0,0,0,0\n')
    return root


def test_oversized_image_is_skipped_with_skip_bad(with_huge):
    from eemkit.data.datasets import load_split
    from eemkit.data.preprocess import PreprocessSpec

    assert load_split(with_huge, "ferplus", "train", PreprocessSpec.for_input(32), skip_bad=True).excluded["unreadable"] == 1


def test_oversized_image_without_skip_bad_is_a_one_line_error(with_huge, tmp_path):
    r = runner.invoke(app, ["train", "student", "--no-distill", "--data", str(with_huge), "--out", str(tmp_path / "o"),
                            "--input-size", "32", "--batch-size", "4", "--epochs", "1", "--max-steps", "1"])
    assert (r.exit_code, "Traceback" in r.output, "huge.png" in r.output) == (1, False, True), r.output


# ---------------------------------------------------------------- 3. one class
def test_a_dataset_of_one_class_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(12):
        write_png(tmp_path / "one" / "happy" / f"{i}.png", face_like(rng, i))
    with pytest.raises(UsageError, match="at least 2 classes"):
        train(_cfg(tmp_path / "one", tmp_path / "o", fmt="folder", batch_size=4))


# ---------------------------------------------------------------- 5. a student as teacher
def test_a_student_checkpoint_as_teacher_is_reported(ferplus_slice, tiny_student, tmp_path):
    """Distilling from a student is allowed (teacher refresh, the shipped model as teacher), never silent."""
    cfg = resolve_config(None, [_cfg(ferplus_slice, tmp_path / "o", max_steps_per_epoch=1).to_dict(),
                                {"teacher": str(tiny_student), "loss": {"distill": True}, "data": {"crop_pct": 1.0}}])
    msgs = Messages()
    train(cfg, reporter=msgs)
    assert any("is a student checkpoint, not a KTN teacher" in m for m in msgs.seen), msgs.seen


# ---------------------------------------------------------------- 6. unwritable --out, checked first
def _train_cli(data, out):
    return runner.invoke(app, ["train", "student", "--no-distill", "--data", str(data), "--out", str(out), "--input-size", "32",
                               "--batch-size", "8", "--epochs", "1", "--max-steps", "1"])


def _one_line(r, code, text):
    return r.exit_code == code and "Traceback" not in r.output and text in " ".join(r.output.split())


def test_out_under_a_file_is_a_usage_error(ferplus_slice, tmp_path):
    (tmp_path / "file").write_text("x")
    assert _one_line(_train_cli(ferplus_slice, tmp_path / "file" / "run"), 2, "is a file"), "see output"


def test_out_that_is_a_file_is_a_usage_error(ferplus_slice, tmp_path):
    (tmp_path / "run").write_text("x")
    assert _one_line(_train_cli(ferplus_slice, tmp_path / "run"), 2, "is a file"), "see output"


def test_out_on_a_read_only_file_system_is_a_usage_error(ferplus_slice, read_only_dir):
    assert _one_line(_train_cli(ferplus_slice, read_only_dir / "run"), 2, "not writable"), "see output"


def test_out_is_checked_before_the_data_is_loaded(tmp_path):
    (tmp_path / "file").write_text("x")
    r = _train_cli(tmp_path / "no-such-data", tmp_path / "file" / "run")
    assert _one_line(r, 2, "is a file"), r.output


# ---------------------------------------------------------------- 7. disk full
@pytest.fixture
def full_disk_on_best(monkeypatch):
    """torch.save fails on best.pt the way it fails on a full disk (measured on a 1 MB tmpfs)."""
    real_save = torch.save

    def save(obj, f, *a, **k):
        target = os.readlink(f"/proc/self/fd/{f.fileno()}") if hasattr(f, "fileno") else str(f)
        if os.path.basename(target).startswith(".best.pt."):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 768 vs 662")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(torch, "save", save)


def test_disk_full_is_a_one_line_failure(ferplus_slice, tmp_path, full_disk_on_best):
    with pytest.raises(EemkitError, match="cannot write checkpoint"):
        train(_cfg(ferplus_slice, tmp_path / "o"))


def test_disk_full_never_leaves_a_checkpoint_naming_a_missing_best(ferplus_slice, tmp_path, full_disk_on_best):
    out = tmp_path / "o"
    with pytest.raises((EemkitError, RuntimeError)):
        train(_cfg(ferplus_slice, out, epochs=2))
    best = load_checkpoint(out / "last.pt")["best"] if (out / "last.pt").exists() else {}
    assert not best or (out / "best.pt").is_file()


# ---------------------------------------------------------------- 8. --threads on resume
def test_resume_with_other_threads_is_refused_naming_the_original(ferplus_slice, tmp_path):
    before = torch.get_num_threads()
    try:
        train(_cfg(ferplus_slice, tmp_path / "o", threads=1))
        with pytest.raises(UsageError, match=r"optim\.threads \(checkpoint: 1"):
            train(_cfg(ferplus_slice, tmp_path / "o", threads=2, epochs=2), resume=True)
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------- 9. signals
@pytest.fixture
def sigterm_guard():
    """Before the fix SIGTERM killed the test process; make it raise here instead (the loop replaces
    this handler while it trains, and restores it)."""
    def fail(signum, frame):
        raise RuntimeError("SIGTERM reached the default handler: training did not handle it")

    old = signal.signal(signal.SIGTERM, fail)
    yield
    signal.signal(signal.SIGTERM, old)


def test_sigterm_stops_at_a_step_boundary_with_exit_code_143(ferplus_slice, tmp_path, sigterm_guard):
    msgs = Messages(on_step=lambda n: n == 1 and os.kill(os.getpid(), signal.SIGTERM))
    with pytest.raises(EemkitError) as e:
        train(_cfg(ferplus_slice, tmp_path / "o", max_steps_per_epoch=4), reporter=msgs)
    assert (e.value.code, load_checkpoint(tmp_path / "o" / "last.pt")["step"]) == (143, 1)


def test_a_second_ctrl_c_inside_a_step_still_stops_at_the_step_boundary(ferplus_slice, tmp_path, monkeypatch):
    from eemkit.losses.objectives import EEMObjective

    orig, calls = EEMObjective.forward, {"n": 0}

    def twice_interrupted(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:  # inside step 2, after BatchNorm moved its statistics
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return orig(self, *a, **k)

    monkeypatch.setattr(EEMObjective, "forward", twice_interrupted)
    with pytest.raises(EemkitError):
        train(_cfg(ferplus_slice, tmp_path / "o", max_steps_per_epoch=4))
    assert load_checkpoint(tmp_path / "o" / "last.pt")["step"] == 2


# ---------------------------------------------------------------- 16. atomic writes
def test_every_file_of_a_run_is_written_atomically(ferplus_slice, tmp_path, monkeypatch):
    placed = set()
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst, **k: placed.add(os.path.abspath(dst)) or real_replace(src, dst, **k))
    out = tmp_path / "o"
    train(_cfg(ferplus_slice, out))
    written = {os.path.abspath(p) for p in out.iterdir() if p.is_file()}
    assert written - placed == set()
