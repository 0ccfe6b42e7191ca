"""Distillation targets: ensembles and mirror averaging (teacher_cache.combine), the loop's
loss.teacher_mirror (cached and online), and `eemkit train targets` end to end."""

import json
from pathlib import Path

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


def test_an_ensemble_target_is_the_mean_of_the_teachers_logits():
    a, b = _targets(0), _targets(1)
    c = teacher_cache.combine([a, b])
    for view in ("plain", "mirrored"):
        for k in ("fine_logits", "coarse_logits"):
            want = (getattr(a, view)[k].astype(np.float32) + getattr(b, view)[k].astype(np.float32)) / 2
            assert np.allclose(getattr(c, view)[k].astype(np.float32), want, atol=1e-2)
    # two networks' features are not comparable: the V^a term is dropped, and says so through has_features
    assert not c.has_features and "t0 + t1" in c.source


def test_mirror_averaging_gives_both_views_one_target():
    a = _targets(0)
    c = teacher_cache.combine([a], mirror=True)
    for k in ("fine_logits", "features"):
        want = (a.plain[k].astype(np.float32) + a.mirrored[k].astype(np.float32)) / 2
        assert np.allclose(c.plain[k].astype(np.float32), want, atol=1e-2)
        assert np.array_equal(c.plain[k], c.mirrored[k])
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


def _teacher(data, out, input_size=32):
    cfg = resolve_config(None, [{"stage": "teacher", "out": str(out), "data": {"path": str(data), "input_size": input_size},
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
    with np.load(out) as z:
        assert z["plain_fine_logits"].dtype == np.float16 and "plain_features" not in z.files
        assert len(z["names"]) == res["images"]
    student = train(_student_cfg(ferplus_slice, tmp_path / "s", out))
    assert np.isfinite(student.history[0]["train_loss"])
    # --score-only: the same valid rows, no training pass, nothing written
    before = sorted(p.name for p in tmp_path.iterdir())
    r = runner.invoke(app, ["train", "targets", "--teacher", str(t1), "--teacher", str(t2), "--mirror-average",
                            "--data", str(ferplus_slice), "--input-size", "32", "--score-only", "--json"])
    assert r.exit_code == 0, r.output
    scored = json.loads(r.stdout[r.stdout.index("{"):])
    assert scored["valid"] == res["valid"] and scored["path"] is None and scored["images"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_train_targets_cli_table_and_bad_input(ferplus_slice, tmp_path):
    t1 = _teacher(ferplus_slice, tmp_path / "t1")
    r = runner.invoke(app, ["train", "targets", "--teacher", str(t1), "--data", str(ferplus_slice), "--input-size", "32",
                            "-o", str(tmp_path / "one.npz")])
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())  # rich wraps at the terminal's width
    assert "valid split" in text and "1 teacher(s) on 128 training images" in text
    assert "combined" not in text  # one teacher: its own row is the whole story
    # its valid row is the checkpoint's own valid score, as `eemkit eval` computes it
    from eemkit.eval.evaluate import evaluate_checkpoint

    r = runner.invoke(app, ["train", "targets", "--teacher", str(t1), "--data", str(ferplus_slice), "--input-size", "32",
                            "--score-only", "--json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout[r.stdout.index("{"):])["valid"][0]
    ev = evaluate_checkpoint(t1, ferplus_slice, "ferplus", "valid")
    assert (row["accuracy"], row["average"]) == (round(ev["accuracy"], 2), round(ev["average"], 2))
    cases = [
        (["--teacher", str(t1), "-o", str(tmp_path / "x.txt")], "ending in .npz"),
        (["--teacher", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "x.npz")], "does not exist"),
        (["--teacher", str(t1), "-o", str(tmp_path / "no" / "x.npz")], "does not exist"),
        (["--teacher", str(t1)], "give -o FILE.npz"),
        (["--teacher", str(t1), "--score-only", "-o", str(tmp_path / "x.npz")], "writes nothing"),
    ]
    for args, msg in cases:
        r = runner.invoke(app, ["train", "targets", "--data", str(ferplus_slice), *args])
        assert r.exit_code == 2, (args, r.output)
        assert msg in " ".join(r.output.split()) and "Traceback" not in r.output


def test_the_written_file_holds_each_image_s_combined_target(ferplus_slice, tmp_path):
    """Read back by name, the file equals combine() of the teachers run directly, for every image."""
    from eemkit.data.datasets import load_split
    from eemkit.data.preprocess import PreprocessSpec
    from eemkit.train.targets import make_targets

    t1, t2 = _teacher(ferplus_slice, tmp_path / "t1"), _teacher(ferplus_slice, tmp_path / "t2")
    cfg = _student_cfg(ferplus_slice, tmp_path / "s", t1)
    res = make_targets(cfg, [t1, t2], tmp_path / "e.npz", mirror=True)
    data = load_split(ferplus_slice, "ferplus", "train", PreprocessSpec.for_input(32))
    direct = teacher_cache.combine([teacher_cache.from_path(t, data.images, data.names, data.labels) for t in (t1, t2)],
                                   mirror=True)
    order = list(reversed(data.names))
    back = teacher_cache.load_teacher_outputs(res.path, order)
    idx = [data.names.index(n) for n in order]
    assert np.allclose(back.plain["fine_logits"].astype(np.float32), direct.plain["fine_logits"][idx].astype(np.float32),
                       atol=1e-2)
    assert teacher_cache.read_info(res.path)["teachers"] == [str(t1), str(t2)] and teacher_cache.read_info(res.path)["mirror"]
    # the per-teacher valid rows are scored mirror-averaged too, like the file
    valid = load_split(ferplus_slice, "ferplus", "valid", PreprocessSpec.for_input(32))
    v1 = teacher_cache.combine([teacher_cache.from_path(t1, valid.images, valid.names, valid.labels)], mirror=True)
    from eemkit.metrics import classification_metrics

    want = classification_metrics(valid.fine, v1.plain["fine_logits"].astype(np.float32), valid.labels.fine)["accuracy"]
    assert res.valid[0]["accuracy"] == pytest.approx(want, abs=0.01)


def test_a_teacher_of_another_input_side_reads_the_faces_at_its_own_side(ferplus_slice, tmp_path):
    """A 48 px teacher of a 32 px student sees each face read from the source at 48 px, not the student's
    prepared 32 px image resized (two interpolations): in the file and in its valid score."""
    from eemkit.data.datasets import load_split
    from eemkit.data.preprocess import PreprocessSpec
    from eemkit.metrics import classification_metrics
    from eemkit.train.targets import make_targets

    t = _teacher(ferplus_slice, tmp_path / "t48", input_size=48)
    res = make_targets(_student_cfg(ferplus_slice, tmp_path / "s", t), [t], tmp_path / "t.npz")
    model, spec = teacher_cache.load_frozen_teacher(t, load_split(ferplus_slice, "ferplus", "valid",
                                                                  PreprocessSpec.for_input(32)).labels, print)
    assert spec.input_size == 48
    train48 = load_split(ferplus_slice, "ferplus", "train", spec)
    want = teacher_cache.from_model(model, spec, train48.labels.fine, train48.images, "t").plain["fine_logits"]
    got = teacher_cache.load_teacher_outputs(res.path, train48.names).plain["fine_logits"]
    assert np.allclose(got.astype(np.float32), want.astype(np.float32), atol=1e-2)
    train32 = load_split(ferplus_slice, "ferplus", "train", PreprocessSpec.for_input(32))
    resized = teacher_cache.from_path(t, train32.images, train32.names, train32.labels).plain["fine_logits"]
    assert not np.allclose(resized.astype(np.float32), want.astype(np.float32), atol=1e-2)  # what the reader avoids
    valid48 = load_split(ferplus_slice, "ferplus", "valid", spec)
    v = teacher_cache.from_model(model, spec, valid48.labels.fine, valid48.images, "t").plain["fine_logits"]
    assert res.valid[0]["accuracy"] == pytest.approx(
        classification_metrics(valid48.fine, v.astype(np.float32), valid48.labels.fine)["accuracy"], abs=0.01)
    # and so does a checkpoint teacher whose outputs a student run caches itself (loss.teacher_outputs=cached)
    cfg = _student_cfg(ferplus_slice, tmp_path / "run", t, teacher_outputs="cached", teacher_mirror=False)
    train(cfg)
    kept = tmp_path / "run" / "teacher-targets.npz"
    in_run = teacher_cache.load_teacher_outputs(kept, train48.names[:3]).plain["fine_logits"]
    assert np.allclose(in_run.astype(np.float32), want[:3].astype(np.float32), atol=1e-2)


def test_an_exported_teacher_of_another_side_reads_at_its_side_and_a_same_side_one_reads_nothing(ferplus_slice, tmp_path):
    from eemkit.data.datasets import load_split, split_reader
    from eemkit.data.preprocess import PreprocessSpec
    from eemkit.export.api import ExportOptions, export_checkpoint
    from eemkit.runtime import open_runner

    t48 = _teacher(ferplus_slice, tmp_path / "t48", input_size=48)
    onnx = export_checkpoint(t48, tmp_path / "exp", ExportOptions())["artifacts"]["onnx"]["path"]
    train32 = load_split(ferplus_slice, "ferplus", "train", PreprocessSpec.for_input(32))
    read = split_reader(ferplus_slice, "ferplus", "train", train32.names)
    got = teacher_cache.from_path(onnx, train32.images, train32.names, train32.labels, open_artifact=open_runner,
                                  read_at=read).plain["fine_logits"]
    with open_runner(onnx) as r:
        want = r.infer_prepared(load_split(ferplus_slice, "ferplus", "train", r.spec).images, raw=True)["fine_logits"]
    assert np.allclose(got.astype(np.float32), want, atol=1e-2)

    def never(spec):
        raise AssertionError(f"a same-side teacher read the split again at {spec.resize_size} px")

    t32 = _teacher(ferplus_slice, tmp_path / "t32")
    same = teacher_cache.from_path(t32, train32.images, train32.names, train32.labels, read_at=never)
    assert len(same) == len(train32)


def test_split_reader_gives_the_named_images_in_their_order(ferplus_slice):
    from eemkit.data.datasets import load_split, split_reader
    from eemkit.data.preprocess import PreprocessSpec

    spec = PreprocessSpec.for_input(48)
    full = load_split(ferplus_slice, "ferplus", "train", spec)
    some = list(reversed(full.names[1:6]))
    read = split_reader(ferplus_slice, "ferplus", "train", some)
    assert np.array_equal(read(spec), full.images[[full.names.index(n) for n in some]])
    assert read(spec) is read(spec)  # the side read last is kept
    other = PreprocessSpec.for_input(32)
    assert read(other).shape[1] == other.resize_size and read(spec).shape[1] == spec.resize_size
    with pytest.raises(UsageError, match="no longer in"):
        split_reader(ferplus_slice, "ferplus", "train", ["not-an-image.png"])(spec)


def test_online_teacher_mirror_averages_the_left_right_mirror():
    from eemkit.train.teachers import teacher_forward as _teacher_forward

    class Probe(torch.nn.Module):  # outputs that tell the two views apart
        def forward(self, x):
            return {"fine_logits": x[:, 0, 0, :3], "coarse_logits": x[:, 0, :4, 0], "features": x[:, 0, 1, :]}

    x = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6)
    got = _teacher_forward(Probe(), x, mirror=True)
    ref, mir = Probe()(x), Probe()(x.flip(3))
    for k in ref:
        assert torch.allclose(got[k], (ref[k] + mir[k]) / 2)
    assert not torch.allclose(got["fine_logits"], (ref["fine_logits"] + Probe()(x.flip(2))["fine_logits"]) / 2)
    assert all(torch.equal(a, b) for a, b in zip(_teacher_forward(Probe(), x, mirror=False).values(), ref.values()))


def test_a_broken_targets_file_is_a_one_line_error(ferplus_slice, tmp_path):
    good = _targets(0, n=3)
    names = ["a.png", "b.png", "c.png"]
    path = teacher_cache.save_teacher_outputs(good, names, tmp_path / "good.npz")
    (tmp_path / "trunc.npz").write_bytes(path.read_bytes()[:300])
    with pytest.raises(UsageError, match="not a readable teacher-outputs file"):
        teacher_cache.load_teacher_outputs(tmp_path / "trunc.npz", names)
    short = _targets(0, n=3)
    short.plain["fine_logits"] = short.plain["fine_logits"][:2]
    teacher_cache.save_teacher_outputs(short, names, tmp_path / "short.npz")
    with pytest.raises(UsageError, match="plain_fine_logits has shape"):
        teacher_cache.load_teacher_outputs(tmp_path / "short.npz", names)
    nan = _targets(0, n=3)
    nan.mirrored["coarse_logits"][1, 2] = np.nan
    teacher_cache.save_teacher_outputs(nan, names, tmp_path / "nan.npz")
    with pytest.raises(UsageError, match="non-finite"):
        teacher_cache.load_teacher_outputs(tmp_path / "nan.npz", names)


def test_targets_cover_every_seed_without_a_valid_split(tmp_path):
    """Without a valid split the training loop holds out part of train by seed: the targets must cover
    the whole split, so students of any seed can use the same file."""
    import shutil

    from conftest import make_synthetic_ferplus
    from eemkit.train.targets import make_targets

    root = make_synthetic_ferplus(tmp_path / "fer")
    shutil.rmtree(root / "FER2013Valid")
    teacher = _teacher(root, tmp_path / "t")
    res = make_targets(_student_cfg(root, tmp_path / "x", teacher), [teacher], tmp_path / "t.npz")
    assert res.valid == []
    for seed in (0, 1):
        cfg = resolve_config(None, [_student_cfg(root, tmp_path / f"s{seed}", res.path).to_dict(), {"optim": {"seed": seed}}])
        assert np.isfinite(train(cfg).history[0]["train_loss"])


def test_online_distillation_through_an_exported_teacher(ferplus_slice, tmp_path):
    """loss.teacher_outputs online with an ONNX teacher: ONNX Runtime runs it on every augmented batch,
    and its logits equal those of the teacher checkpoint on that batch."""
    from eemkit.export.api import ExportOptions, export_checkpoint
    from eemkit.runtime import open_runner
    from eemkit.train import teachers
    from eemkit.train.checkpoint import build_from_checkpoint

    teacher = _teacher(ferplus_slice, tmp_path / "t")
    onnx = export_checkpoint(teacher, tmp_path / "exp", ExportOptions())["artifacts"]["onnx"]["path"]
    msgs = []

    class Rep:
        def start_epoch(self, *a): ...
        def step(self, *a): ...
        def end_epoch(self, *a): ...
        def message(self, text): msgs.append(text)

    res = train(_student_cfg(ferplus_slice, tmp_path / "s", onnx, teacher_outputs="online", teacher_mirror=True),
                reporter=Rep(), open_artifact=open_runner)
    assert np.isfinite(res.history[0]["train_loss"]) and any("online teacher through" in m for m in msgs)
    # the runtime's logits on a batch are the checkpoint's
    model, _ = build_from_checkpoint(teacher)
    x = torch.randn(4, 3, 32, 32)
    with open_runner(onnx) as runner:
        got = teachers.runtime_teacher_forward(runner, x, mirror=True)
    want = teachers.teacher_forward(model.eval(), x, mirror=True)
    assert torch.allclose(got["fine_logits"], want["fine_logits"], atol=1e-3)


def test_online_distillation_refuses_what_it_cannot_run(ferplus_slice, tmp_path):
    from eemkit.export.api import ExportOptions, export_checkpoint
    from eemkit.runtime import open_runner

    teacher = _teacher(ferplus_slice, tmp_path / "t")
    onnx = export_checkpoint(teacher, tmp_path / "exp", ExportOptions())["artifacts"]["onnx"]["path"]
    other = resolve_config(None, [_student_cfg(ferplus_slice, tmp_path / "s", onnx, teacher_outputs="online").to_dict(),
                                  {"data": {"input_size": 48}}])
    with pytest.raises(UsageError, match="at 32 px"):
        train(other, open_artifact=open_runner)
    npz = teacher_cache.save_teacher_outputs(_targets(0), ["a.png"] * 5, tmp_path / "t.npz")
    with pytest.raises(UsageError, match="cannot follow each augmented batch"):
        train(_student_cfg(ferplus_slice, tmp_path / "s2", npz, teacher_outputs="online"), open_artifact=open_runner)


def test_cached_targets_are_kept_in_the_run_and_reused_on_resume(ferplus_slice, tmp_path, monkeypatch):
    import os

    teacher = _teacher(ferplus_slice, tmp_path / "t")
    calls = []
    real = teacher_cache.from_path

    def counting(*a, **kw):
        calls.append(a[0])
        return real(*a, **kw)

    monkeypatch.setattr(teacher_cache, "from_path", counting)
    cfg = _student_cfg(ferplus_slice, tmp_path / "s", teacher, teacher_mirror=True)
    first = train(resolve_config(None, [cfg.to_dict(), {"optim": {"epochs": 1}}]))
    kept = tmp_path / "s" / "teacher-targets.npz"
    assert len(calls) == 1 and kept.is_file()
    msgs = []

    class Rep:
        def start_epoch(self, *a): ...
        def step(self, *a): ...
        def end_epoch(self, *a): ...
        def message(self, text): msgs.append(text)

    resumed = train(resolve_config(None, [cfg.to_dict(), {"optim": {"epochs": 2}}]), resume=True, reporter=Rep())
    assert len(calls) == 1 and any("reused the teacher's outputs" in m for m in msgs) and len(resumed.history) == 2
    # what is kept is what the teacher gives, image by image
    from eemkit.data.datasets import load_split
    from eemkit.data.preprocess import PreprocessSpec

    data = load_split(ferplus_slice, "ferplus", "train", PreprocessSpec.for_input(32))
    direct = teacher_cache.combine([real(teacher, data.images, data.names, data.labels)], mirror=True)
    back = teacher_cache.load_teacher_outputs(kept, data.names)
    for k in direct.plain:
        assert np.allclose(back.plain[k].astype(np.float32), direct.plain[k].astype(np.float32), atol=1e-2)
        assert np.allclose(back.mirrored[k].astype(np.float32), direct.mirrored[k].astype(np.float32), atol=1e-2)
    assert first.history[0]["train_loss"] > 0
    # a changed teacher file is run again
    st = os.stat(teacher)
    os.utime(teacher, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    train(resolve_config(None, [cfg.to_dict(), {"optim": {"epochs": 3}}]), resume=True)
    assert len(calls) == 2


def test_a_full_disk_while_keeping_the_targets_does_not_end_the_run(ferplus_slice, tmp_path, monkeypatch):
    from eemkit.errors import EemkitError

    teacher = _teacher(ferplus_slice, tmp_path / "t")
    real = teacher_cache.save_teacher_outputs

    def full(targets, names, path, info=None):
        if Path(path).name == "teacher-targets.npz":
            raise EemkitError(f"cannot write teacher outputs {path}: No space left on device")
        return real(targets, names, path, info)

    monkeypatch.setattr(teacher_cache, "save_teacher_outputs", full)
    msgs = []

    class Rep:
        def start_epoch(self, *a): ...
        def step(self, *a): ...
        def end_epoch(self, *a): ...
        def message(self, text): msgs.append(text)

    res = train(_student_cfg(ferplus_slice, tmp_path / "s", teacher), reporter=Rep())
    assert np.isfinite(res.history[0]["train_loss"]) and not (tmp_path / "s" / "teacher-targets.npz").exists()
    assert any("were not kept" in m and "No space left" in m for m in msgs)


def test_the_online_teacher_s_runtime_is_closed_when_training_fails(ferplus_slice, tmp_path, monkeypatch):
    from eemkit.errors import EemkitError
    from eemkit.export.api import ExportOptions, export_checkpoint
    from eemkit.runtime import open_runner
    from eemkit.train import loop

    teacher = _teacher(ferplus_slice, tmp_path / "t")
    onnx = export_checkpoint(teacher, tmp_path / "exp", ExportOptions())["artifacts"]["onnx"]["path"]
    opened = []

    def opening(*a, **kw):
        opened.append(open_runner(*a, **kw))
        return opened[-1]

    def full(*a, **kw):
        raise EemkitError("cannot write checkpoint: No space left on device")

    monkeypatch.setattr(loop, "save_checkpoint", full)
    with pytest.raises(EemkitError, match="No space left"):
        train(_student_cfg(ferplus_slice, tmp_path / "s", onnx, teacher_outputs="online"), open_artifact=opening)
    assert len(opened) == 1 and not opened[0].active


def test_an_online_checkpoint_teacher_of_another_preprocessing_is_refused(ferplus_slice, tmp_path):
    """Online, a checkpoint teacher reads the student's model input as it is (like an exported one): a teacher
    trained at 32 px must not be fed a 48 px student's batches silently."""
    teacher = _teacher(ferplus_slice, tmp_path / "t")
    other = resolve_config(None, [_student_cfg(ferplus_slice, tmp_path / "s", teacher, teacher_outputs="online").to_dict(),
                                  {"data": {"input_size": 48}}])
    with pytest.raises(UsageError, match="at 32 px"):
        train(other)
