"""Distillation targets: ensembles and mirror averaging (teacher_cache.combine), the loop's
loss.teacher_mirror (cached and online), and `eemkit train targets` end to end."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from eemkit.cli.app import app
from eemkit.config import resolve_config
from eemkit.errors import UsageError
from eemkit.train import teacher_cache
from eemkit.train.loop import train

runner = CliRunner()
CLASSES = ("a", "b", "c")


def _targets(seed: int, n: int = 5, features: bool = True) -> teacher_cache.TeacherTargets:
    g = np.random.default_rng(seed)

    def view():
        d = {"fine_logits": g.normal(0, 3, (n, 3)).astype(np.float16),
             "coarse_logits": g.normal(0, 3, (n, 4)).astype(np.float16)}
        if features:
            d["features"] = g.normal(0, 1, (n, 8)).astype(np.float16)
        return d

    return teacher_cache.TeacherTargets(view(), view(), CLASSES, f"t{seed}")


def _softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_an_ensemble_target_is_the_mean_of_the_teachers_probabilities():
    a, b = _targets(0), _targets(1)
    c = teacher_cache.combine([a, b])
    for view in ("plain", "mirrored"):
        for k in ("fine_logits", "coarse_logits"):
            want = (_softmax(getattr(a, view)[k]) + _softmax(getattr(b, view)[k])) / 2
            assert np.allclose(_softmax(getattr(c, view)[k]), want, atol=2e-3)
    # two networks' features are not comparable: the V^a term is dropped, and says so through has_features
    assert not c.has_features and "t0 + t1" in c.source


def test_mirror_averaging_gives_both_views_one_target():
    a = _targets(0)
    c = teacher_cache.combine([a], mirror=True)
    want = (_softmax(a.plain["fine_logits"]) + _softmax(a.mirrored["fine_logits"])) / 2
    assert np.allclose(_softmax(c.plain["fine_logits"]), want, atol=2e-3)
    assert np.array_equal(c.plain["fine_logits"], c.mirrored["fine_logits"])
    feat = (a.plain["features"].astype(np.float32) + a.mirrored["features"].astype(np.float32)) / 2
    assert np.allclose(c.plain["features"].astype(np.float32), feat, atol=1e-2)
    # one teacher, no mirror: unchanged
    assert teacher_cache.combine([a]) is a


def test_combine_refuses_mismatched_teachers():
    with pytest.raises(UsageError, match="no teacher"):
        teacher_cache.combine([])
    other = _targets(1)
    other.classes = ("x", "y", "z")
    with pytest.raises(UsageError, match="has classes"):
        teacher_cache.combine([_targets(0), other])
    with pytest.raises(UsageError, match="covers 4 images"):
        teacher_cache.combine([_targets(0), _targets(1, n=4)])


def _teacher(data, out):
    cfg = resolve_config(None, [{"stage": "teacher", "out": str(out), "data": {"path": str(data), "input_size": 32},
                                 "loss": {"loss": "ce"},
                                 "optim": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 2, "probe_every": 0,
                                           "precision": "fp32"}}])
    return train(cfg).best_checkpoint


def _student_cfg(data, out, teacher, **loss):
    return resolve_config(None, [{"stage": "student", "out": str(out), "teacher": str(teacher),
                                  "data": {"path": str(data), "input_size": 32, "rotate_deg": 10},
                                  "loss": {"loss": "ce", "distill": True, **loss},
                                  "optim": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 2, "probe_every": 0,
                                            "precision": "fp32"}}])


@pytest.mark.parametrize("mode", ["cached", "online"])
def test_teacher_mirror_changes_the_distillation_loss_only(ferplus_slice, tmp_path, mode):
    teacher = _teacher(ferplus_slice, tmp_path / "t")
    plain = train(_student_cfg(ferplus_slice, tmp_path / "p", teacher, teacher_outputs=mode))
    mirror = train(_student_cfg(ferplus_slice, tmp_path / "m", teacher, teacher_outputs=mode, teacher_mirror=True))
    a, b = plain.history[0], mirror.history[0]
    assert np.isfinite(b["train_loss"])
    # the same seed, batches and student: only the targets differ, so the loss does
    assert a["train_loss"] != pytest.approx(b["train_loss"], rel=1e-6)


def test_train_targets_cli_writes_an_ensemble_a_student_can_use(ferplus_slice, tmp_path):
    t1 = _teacher(ferplus_slice, tmp_path / "t1")
    t2 = _teacher(ferplus_slice, tmp_path / "t2")
    out = tmp_path / "ens.npz"
    r = runner.invoke(app, ["train", "targets", "--teacher", str(t1), "--teacher", str(t2), "--mirror-average",
                            "--data", str(ferplus_slice), "--input-size", "32", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout[r.stdout.index("{"):])
    assert res["mirror"] and not res["has_features"] and len(res["teachers"]) == 2
    # valid scores: one row per teacher and the combination, each with its accuracy
    assert [row["name"] for row in res["valid"]] == [str(t1), str(t2), "combined (mirror-averaged)"]
    assert all(0 <= row["accuracy"] <= 100 for row in res["valid"])
    with np.load(out) as z:
        assert z["plain_fine_logits"].dtype == np.float16 and "plain_features" not in z.files
        assert len(z["names"]) == res["images"]
    student = train(_student_cfg(ferplus_slice, tmp_path / "s", out))
    assert np.isfinite(student.history[0]["train_loss"])


def test_train_targets_cli_table_and_bad_input(ferplus_slice, tmp_path):
    t1 = _teacher(ferplus_slice, tmp_path / "t1")
    r = runner.invoke(app, ["train", "targets", "--teacher", str(t1), "--data", str(ferplus_slice), "--input-size", "32",
                            "-o", str(tmp_path / "one.npz")])
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())  # rich wraps at the terminal's width
    assert "valid split" in text and "combined" in text and "1 teacher(s) on 128 training images" in text
    cases = [
        (["--teacher", str(t1), "-o", str(tmp_path / "x.txt")], "ending in .npz"),
        (["--teacher", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "x.npz")], "does not exist"),
        (["--teacher", str(t1), "-o", str(tmp_path / "no" / "x.npz")], "does not exist"),
    ]
    for args, msg in cases:
        r = runner.invoke(app, ["train", "targets", "--data", str(ferplus_slice), *args])
        assert r.exit_code == 2, (args, r.output)
        assert msg in " ".join(r.output.split()) and "Traceback" not in r.output
