import json
import math
import os
import signal

import pytest
import torch
import yaml
from typer.testing import CliRunner

from eemkit.cli.app import app
from eemkit.config import resolve_config
from eemkit.errors import EemkitError, TrainingDiverged, UsageError
from eemkit.train.checkpoint import load_checkpoint
from eemkit.train.loop import train

runner = CliRunner()


def _cfg(data, out, stage="teacher", **optim):
    o = {"epochs": 2, "batch_size": 8, "lr": 1e-3, "max_steps_per_epoch": 4, "probe_every": 2, **optim}
    return resolve_config(None, [{"stage": stage, "out": str(out), "data": {"path": str(data), "input_size": 32},
                                  "model": {"backbone": "resnet18"}, "loss": {"loss": "adareg" if stage == "teacher" else "ce", "distill": False},
                                  "optim": o}])


def _untimed(history):
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "train_time_s")} for r in history]


def _same_state(a, b):
    sa, sb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_teacher_student_eval_and_exact_resume(ferplus_slice, tmp_path):
    # uninterrupted teacher
    full = train(_cfg(ferplus_slice, tmp_path / "t_full"))
    assert len(full.history) == 2 and (tmp_path / "t_full" / "metrics.csv").is_file()
    assert "reg_grad_share" in full.history[0] and (tmp_path / "t_full" / "config.yaml").is_file()
    # the same run stopped after one epoch, then resumed
    train(_cfg(ferplus_slice, tmp_path / "t_res", epochs=1))
    resumed = train(_cfg(ferplus_slice, tmp_path / "t_res"), resume=True)
    assert _untimed(resumed.history) == _untimed(full.history)
    assert _same_state(tmp_path / "t_full" / "last.pt", tmp_path / "t_res" / "last.pt")
    ck = load_checkpoint(tmp_path / "t_res" / "last.pt")
    assert ck["objective"]["reg.centers"].shape == (8, 256)
    # student distilled from that teacher, through the CLI
    r = runner.invoke(app, ["train", "student", "--teacher", str(tmp_path / "t_full" / "best.pt"), "--data", str(ferplus_slice),
                            "--out", str(tmp_path / "s"), "--input-size", "32", "--epochs", "1", "--batch-size", "8",
                            "--max-steps", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["epochs"] == 1
    # eval of the student
    r = runner.invoke(app, ["eval", str(tmp_path / "s" / "best.pt"), "--data", str(ferplus_slice), "--json",
                            "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert 0 <= m["accuracy"] <= 100 and 0 <= m["average"] <= 100 and "coarse_accuracy" in m
    assert len(m["confusion"]) == 8 and (tmp_path / "ev" / "confusion-train.png").stat().st_size > 1000


def test_ctrl_c_mid_epoch_resumes_exactly(ferplus_slice, tmp_path):
    full = train(_cfg(ferplus_slice, tmp_path / "a", stage="student", epochs=1))

    class Interrupt:
        n = 0

        def start_epoch(self, *a): ...
        def end_epoch(self, row): ...
        def message(self, t): ...

        def step(self, images, loss):
            Interrupt.n += 1
            if Interrupt.n == 2:
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(EemkitError, match="--resume") as e:
        train(_cfg(ferplus_slice, tmp_path / "b", stage="student", epochs=1), reporter=Interrupt())
    assert e.value.code == 130
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 2
    resumed = train(_cfg(ferplus_slice, tmp_path / "b", stage="student", epochs=1), resume=True)
    assert resumed.history[0]["train_loss"] == pytest.approx(full.history[0]["train_loss"], rel=1e-9)
    assert _same_state(tmp_path / "a" / "last.pt", tmp_path / "b" / "last.pt")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(ferplus_slice, tmp_path, monkeypatch):
    from eemkit.losses.objectives import EEMObjective

    orig = EEMObjective.forward
    calls = {"n": 0}

    def poisoned(self, out, target, teacher_out=None):
        parts = orig(self, out, target, teacher_out)
        calls["n"] += 1
        if calls["n"] == 6:  # second epoch, second step
            parts["loss"] = parts["loss"] * float("nan")
        return parts

    monkeypatch.setattr(EEMObjective, "forward", poisoned)
    with pytest.raises(TrainingDiverged, match="epoch 2, step 2") as e:
        train(_cfg(ferplus_slice, tmp_path / "n", stage="student"))
    assert e.value.code == 4
    assert load_checkpoint(tmp_path / "n" / "last.pt")["epoch"] == 1


def _cli(*args):
    r = runner.invoke(app, list(args))
    assert "Traceback" not in r.output
    return r


def test_bad_training_input(ferplus_slice, tmp_path, tiny_student):
    d = str(ferplus_slice)
    r = _cli("train", "teacher", "--data", d, "--out", str(tmp_path / "x"), "--backbone", "vgg99")
    assert r.exit_code == 2 and "valid backbones" in r.output
    r = _cli("train", "teacher", "--data", d, "--out", str(tmp_path / "x"), "--loss", "hinge")
    assert r.exit_code == 2 and "'hinge' is not one of" in " ".join(r.output.replace("│", " ").split())  # a closed choice
    r = _cli("train", "teacher", "--data", d, "--out", str(tmp_path / "x"), "--batch-size", "100000")
    assert r.exit_code == 2 and "larger than" in r.output
    bad = tmp_path / "bad.pt"
    bad.write_bytes(tiny_student.read_bytes()[:1000])
    r = _cli("train", "student", "--teacher", str(bad), "--data", d, "--out", str(tmp_path / "y"), "--input-size", "32")
    assert r.exit_code == 2 and "corrupt or truncated" in r.output
    r = _cli("eval", str(tmp_path / "nope.pt"), "--data", d)
    assert r.exit_code == 2 and "does not exist" in r.output
    r = _cli("train", "teacher", "--data", d, "--out", str(tmp_path / "z"), "--set", "optim.nonsense=1")
    assert r.exit_code == 2 and "unknown config key" in r.output


def test_resume_with_changed_config_names_keys(ferplus_slice, tmp_path):
    train(_cfg(ferplus_slice, tmp_path / "r", stage="student", epochs=1))
    with pytest.raises(UsageError, match="optim.lr"):
        train(_cfg(ferplus_slice, tmp_path / "r", stage="student", lr=0.5), resume=True)
    with pytest.raises(UsageError, match="exists"):
        train(_cfg(ferplus_slice, tmp_path / "r", stage="student"))


def test_teacher_with_other_classes_is_refused(ferplus_slice, tmp_path, tiny_student):
    import numpy as np

    from conftest import face_like, write_png

    rng = np.random.default_rng(0)
    for c in ("happy", "sad"):
        for i in range(10):
            write_png(tmp_path / "folder" / c / f"{i}.png", face_like(rng, i))
    cfg = resolve_config(None, [{"stage": "student", "teacher": str(tiny_student), "out": str(tmp_path / "o"),
                                 "data": {"path": str(tmp_path / "folder"), "format": "folder", "input_size": 32},
                                 "loss": {"loss": "ce"}, "optim": {"batch_size": 4}}])
    with pytest.raises(UsageError, match="trained on classes"):
        train(cfg)


def test_same_seed_same_result(ferplus_slice, tmp_path):
    a = train(_cfg(ferplus_slice, tmp_path / "s1", stage="student", epochs=1))
    b = train(_cfg(ferplus_slice, tmp_path / "s2", stage="student", epochs=1))
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]
    assert _same_state(tmp_path / "s1" / "last.pt", tmp_path / "s2" / "last.pt")


@pytest.mark.parametrize("variant", [
    {"data": {"label_mode": "probability"}},
    {"data": {"balanced": True}, "loss": {"loss": "focal"}},
    {"model": {"use_coarse": False}, "loss": {"loss": "reg"}},
    {"loss": {"loss": "ldam"}},
    {"loss": {"loss": "center"}, "model": {"small_stem": True}},
], ids=["soft-targets", "balanced-focal", "no-coarse-reg", "ldam", "center-smallstem"])
def test_training_variants_run(ferplus_slice, tmp_path, variant):
    from eemkit.config import _deep_update

    base = {"stage": "teacher", "out": str(tmp_path / "v"), "data": {"path": str(ferplus_slice), "input_size": 32},
            "model": {"backbone": "mobilenet_v3_small"}, "optim": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 2}}
    cfg = resolve_config(None, [_deep_update(base, variant)])
    res = train(cfg)
    assert len(res.history) == 1 and math.isfinite(res.history[0]["train_loss"])
    ck = load_checkpoint(tmp_path / "v" / "best.pt")
    assert ck["config"]["loss"]["loss"] == cfg.loss.loss
    if not cfg.model.use_coarse:
        assert not any(k.startswith("backbone2") for k in ck["model"])


def test_focal_with_soft_targets_is_refused(ferplus_slice, tmp_path):
    cfg = resolve_config(None, [{"stage": "teacher", "out": str(tmp_path / "f"), "data": {"path": str(ferplus_slice), "input_size": 32,
                                 "label_mode": "probability"}, "model": {"backbone": "mobilenet_v3_small"}, "loss": {"loss": "focal"},
                                 "optim": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 1}}])
    with pytest.raises(UsageError, match="hard labels"):
        train(cfg)


def test_init_from_checkpoint_and_cosine_schedule(ferplus_slice, tmp_path):
    base = train(_cfg(ferplus_slice, tmp_path / "base", epochs=1))
    cfg = resolve_config(None, [_cfg(ferplus_slice, tmp_path / "cont", epochs=2, schedule="cosine").to_dict(),
                                {"init": str(base.best_checkpoint)}])

    class Messages:
        def __init__(self):
            self.seen = []

        def start_epoch(self, *a): ...
        def step(self, *a): ...
        def end_epoch(self, *a): ...
        def message(self, text):
            self.seen.append(text)

    # lr 0: the loaded weights come through unchanged (BatchNorm statistics still move in train mode)
    msgs = Messages()
    frozen = train(resolve_config(None, [cfg.to_dict(), {"optim": {"lr": 0.0}, "out": str(tmp_path / "frozen")}]),
                   reporter=msgs)
    a, b = load_checkpoint(base.best_checkpoint)["model"], load_checkpoint(frozen.last_checkpoint)["model"]
    params = [k for k in a if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert params and all(torch.equal(a[k], b[k]) for k in params)
    assert any("initialised weights from" in m and "class centres" in m for m in msgs.seen)  # AdaReg state too
    # a fresh optimiser and a cosine lr, logged at the value each epoch trained with
    cont = train(cfg)
    assert [r["lr"] for r in cont.history] == pytest.approx([1e-3, 0.5e-3])
    ck = load_checkpoint(cont.last_checkpoint)
    assert ck["config"]["init"] == str(base.best_checkpoint) and not _same_state(base.best_checkpoint, cont.last_checkpoint)


def test_init_errors_are_one_line(ferplus_slice, tmp_path, tiny_student):
    r = runner.invoke(app, ["train", "teacher", "--data", str(ferplus_slice), "--out", str(tmp_path / "x"),
                            "--init", str(tmp_path / "missing.pt"), "--input-size", "32", "--epochs", "1", "--max-steps", "1"])
    assert r.exit_code == 2 and "--init checkpoint not found" in r.output
    # a student checkpoint cannot initialise a teacher (different architecture)
    r = runner.invoke(app, ["train", "teacher", "--data", str(ferplus_slice), "--out", str(tmp_path / "y"),
                            "--init", str(tiny_student), "--input-size", "32", "--epochs", "1", "--max-steps", "1"])
    assert r.exit_code == 2 and "different architecture" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["train", "teacher", "--data", str(ferplus_slice), "--out", str(tmp_path / "z"),
                            "--set", "optim.schedule=linear", "--input-size", "32", "--epochs", "1", "--max-steps", "1"])
    assert r.exit_code == 2 and "unknown optim.schedule" in r.output


def test_every_shipped_preset_resolves():
    from eemkit.config import PRESET_DIR

    names = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
    assert "ferplus-teacher" in names and "ferplus-student-r18-long" in names
    for name in names:
        cfg = resolve_config(name, [])
        assert cfg.stage in ("teacher", "student") and cfg.optim.schedule in ("step", "cosine", "warmup_cosine"), name
        assert cfg.stage == "teacher" or not cfg.loss.distill or cfg.teacher, name
        assert cfg.out.startswith("runs/"), name


def test_resume_checkpoint_from_before_a_new_config_key(ferplus_slice, tmp_path):
    # a run saved by an eemkit without optim.schedule / init resumes: missing keys take their defaults
    train(_cfg(ferplus_slice, tmp_path / "old", epochs=1))
    ck = load_checkpoint(tmp_path / "old" / "last.pt")
    del ck["config"]["optim"]["schedule"], ck["config"]["init"]
    torch.save(ck, tmp_path / "old" / "last.pt")
    assert len(train(_cfg(ferplus_slice, tmp_path / "old"), resume=True).history) == 2


def test_init_chain_traces_every_earlier_run(tmp_path):
    from eemkit.train.checkpoint import init_chain

    def run(name, init=None):
        (tmp_path / name).mkdir()
        cfg = {"stage": "student", "init": str(tmp_path / init / "best.pt") if init else None}
        (tmp_path / name / "config.yaml").write_text(yaml.safe_dump(cfg))
        return cfg

    run("a"), run("b", "a")
    last = run("c", "b")
    assert [f.name for f, _ in init_chain(last)] == ["a", "b"] and init_chain({"init": None}) == []
    with pytest.raises(UsageError, match="no run folder"):
        init_chain({"init": str(tmp_path / "gone" / "best.pt")})
