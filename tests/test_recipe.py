"""The training recipe of issue 12: augmentation, mixup/CutMix, EMA, precision, logit adjustment,
per-step warm-up + cosine, cached teacher outputs; and exact resume with all of them on."""

import numpy as np
import pytest
import torch

from eemkit.config import resolve_config
from eemkit.data.augment import AugmentSpec, augment, mix_batch, train_input
from eemkit.data.preprocess import PreprocessSpec, to_model_input
from eemkit.errors import UsageError
from eemkit.train.checkpoint import load_checkpoint
from eemkit.train.loop import train

STRONG = {"label_mode": "probability", "scale_min": 0.7, "scale_max": 1.2, "aspect": 1.2, "translate": 0.08,
          "rotate_deg": 15, "photometric": 1.0, "blur_p": 0.5, "jpeg_p": 0.5, "erase_p": 0.5, "mixup": 0.4, "cutmix": 1.0}


def _batch(n=6, spec=None, seed=0):
    spec = spec or PreprocessSpec.for_input(32)
    g = np.random.default_rng(seed)
    return torch.from_numpy(g.integers(0, 256, (n, spec.resize_size, spec.resize_size, 1), dtype=np.uint8)), spec


def test_identity_augmentation_is_the_evaluation_crop():
    batch, spec = _batch()
    ident = AugmentSpec(rotate_deg=0.0, flip=False, photometric=0.0)
    x, flipped = augment(batch, spec.input_size, ident, torch.Generator().manual_seed(0))
    ref = to_model_input(batch, spec)[:, :1] * torch.tensor(spec.std[0]) + torch.tensor(spec.mean[0])
    assert not flipped.any()
    assert torch.allclose(x, ref, atol=1e-5)


def test_strong_augmentation_is_reproducible_and_bounded():
    batch, spec = _batch(16)
    aug = resolve_config(None, [{"data": STRONG}]).data.augment_spec()
    assert not aug.is_basic
    a, fa = train_input(batch, spec, aug, torch.Generator().manual_seed(3))
    b, fb = train_input(batch, spec, aug, torch.Generator().manual_seed(3))
    c, _ = train_input(batch, spec, aug, torch.Generator().manual_seed(4))
    assert a.shape == (16, 3, 32, 32) and fa.shape == (16,)
    assert torch.equal(a, b) and torch.equal(fa, fb) and not torch.equal(a, c)
    lo = (0 - max(spec.mean)) / min(spec.std)
    hi = (1 - min(spec.mean)) / min(spec.std)
    assert torch.isfinite(a).all() and a.min() >= lo - 1e-4 and a.max() <= hi + 1e-4


def test_mirror_flag_matches_the_image():
    batch, spec = _batch(8)
    aug = AugmentSpec(rotate_deg=0.0)  # flips only
    x, flipped = augment(batch, spec.input_size, aug, torch.Generator().manual_seed(1))
    plain, _ = augment(batch, spec.input_size, AugmentSpec(rotate_deg=0.0, flip=False), torch.Generator().manual_seed(1))
    assert 0 < int(flipped.sum()) < 8
    assert torch.allclose(x[flipped], plain[flipped].flip(3), atol=1e-5)
    assert torch.allclose(x[~flipped], plain[~flipped], atol=1e-5)


@pytest.mark.parametrize("mixup,cutmix", [(0.4, 0.0), (0.0, 1.0)])
def test_mix_batch_weights(mixup, cutmix):
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 8, 8).contiguous()
    mixed, lam, perm = mix_batch(x, mixup, cutmix, np.random.default_rng(0))
    assert 0.0 <= lam <= 1.0 and sorted(perm.tolist()) == [0, 1, 2, 3]
    # every image's mean is the lam-weighted mean of the two it came from
    expect = lam * x.mean((1, 2, 3)) + (1 - lam) * x[perm].mean((1, 2, 3))
    assert torch.allclose(mixed.mean((1, 2, 3)), expect, atol=1e-5)


@pytest.mark.parametrize("key,value", [("data.scale_min", 0.0), ("data.aspect", 9.0), ("data.blur_p", 1.5),
                                       ("loss.label_smoothing", 1.0), ("loss.logit_adjust", -1.0),
                                       ("loss.teacher_outputs", "sometimes"), ("loss.lambda_a", -0.01),
                                       ("loss.lambda_f", float("nan")), ("loss.lambda2", float("inf"))])
def test_recipe_keys_are_range_checked(key, value):
    section, name = key.split(".")
    with pytest.raises(UsageError, match=name):
        resolve_config(None, [{section: {name: value}}]).data.augment_spec()


def test_ema_follows_the_formula():
    from eemkit.train.ema import WeightEMA

    m = torch.nn.Linear(2, 1)
    ema = WeightEMA(m, 0.5)
    before = ema.model.weight.detach().clone()
    with torch.no_grad():
        m.weight.add_(1.0)
    ema.update(m)
    d = min(0.5, 2 / 11)
    assert torch.allclose(ema.model.weight, d * before + (1 - d) * m.weight)


def test_precision_choice(monkeypatch):
    from eemkit.train import precision

    cpu = torch.device("cpu")
    for vendor, flags, want in (("GenuineIntel", {"avx2", "amx_bf16"}, "bf16"), ("GenuineIntel", {"avx512_bf16"}, "fp32"),
                                ("AuthenticAMD", {"avx512_bf16", "avx512_vnni"}, "bf16"), ("AuthenticAMD", {"avx2"}, "fp32"),
                                ("", {"avx512_bf16"}, "fp32")):
        monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
        monkeypatch.setattr(precision, "cpu_vendor", lambda: vendor)
        assert precision.resolve_precision("auto", cpu)[0] == want, (vendor, flags)
    assert precision.resolve_precision("bf16", cpu)[0] == "bf16"
    with pytest.raises(UsageError, match="fp64"):
        precision.resolve_precision("fp64", cpu)


def test_logit_adjusted_loss():
    from eemkit.labels import FERPLUS_CLASSES, LabelSpace
    from eemkit.losses.objectives import EEMObjective, LossConfig

    labels = LabelSpace(FERPLUS_CLASSES)
    counts = [100, 50, 20, 20, 10, 2, 5, 1]
    logits = torch.randn(5, 8)
    y = torch.tensor([0, 1, 5, 7, 3])
    out = {"fine_logits": logits, "coarse_logits": torch.randn(5, 4), "features": torch.randn(5, 256)}
    obj = EEMObjective(LossConfig(loss="ce", logit_adjust=1.0, lambda_c=0.0), "teacher", labels, counts)
    prior = torch.tensor(counts, dtype=torch.float32) / sum(counts)
    expect = torch.nn.functional.cross_entropy(logits + prior.log(), y)
    assert torch.allclose(obj(out, y)["cls_fine"], expect, atol=1e-6)


def _recipe_cfg(data, out, **optim):
    o = {"epochs": 2, "batch_size": 8, "lr": 1e-3, "max_steps_per_epoch": 3, "probe_every": 0, "optimizer": "adamw",
         "schedule": "warmup_cosine", "warmup_epochs": 1, "ema": 0.9, "precision": "fp32", **optim}
    return resolve_config(None, [{"stage": "teacher", "out": str(out), "data": {"path": str(data), "input_size": 32, **STRONG},
                                  "loss": {"label_smoothing": 0.1, "logit_adjust": 0.5}, "optim": o}])


def test_recipe_run_resumes_exactly_and_saves_the_ema(ferplus_slice, tmp_path):
    full = train(_recipe_cfg(ferplus_slice, tmp_path / "full"))
    train(_recipe_cfg(ferplus_slice, tmp_path / "part", epochs=1))
    resumed = train(_recipe_cfg(ferplus_slice, tmp_path / "part"), resume=True)
    strip = [{k: v for k, v in r.items() if k not in ("images_per_s", "train_time_s")} for r in full.history]
    assert strip == [{k: v for k, v in r.items() if k not in ("images_per_s", "train_time_s")} for r in resumed.history]
    a, b = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(tmp_path / "part" / "last.pt")
    assert all(torch.equal(a["ema"]["model"][k], b["ema"]["model"][k]) for k in a["ema"]["model"])
    from eemkit.hostinfo import cpu_model

    assert full.history[0]["machine"].startswith(cpu_model()) and "threads" in full.history[0]["machine"]
    assert full.history[0]["precision"] == "fp32" and a["class_counts"] == load_checkpoint(tmp_path / "full" / "best.pt")["class_counts"]
    best = load_checkpoint(tmp_path / "full" / "best.pt")
    best_epoch = full.best["epoch"]
    # best.pt holds the EMA weights that were evaluated, not the raw ones
    assert best["ema"] is not None and best_epoch in (1, 2)
    assert all(torch.equal(best["model"][k], best["ema"]["model"][k]) for k in best["model"])
    # ... which differ from the raw ones (last.pt keeps both), so the check above tells them apart
    assert not all(torch.equal(a["model"][k], a["ema"]["model"][k]) for k in a["model"])
    if best_epoch == 2:
        assert all(torch.equal(best["model"][k], a["ema"]["model"][k]) for k in best["model"])
    # per-step warm-up: the lr logged for epoch 1 is the peak reached at its last step
    assert full.history[0]["lr"] == pytest.approx(1e-3)


def test_cached_teacher_outputs_equal_the_teacher(ferplus_slice, tmp_path):
    from eemkit.data.datasets import load_split
    from eemkit.train import teacher_cache
    from eemkit.train.checkpoint import build_from_checkpoint

    t = train(_recipe_cfg(ferplus_slice, tmp_path / "t", epochs=1, max_steps_per_epoch=1))
    model, ck = build_from_checkpoint(t.best_checkpoint)
    spec = PreprocessSpec.from_dict(ck["preprocess"])
    data = load_split(ferplus_slice, "ferplus", "train", spec)
    cached = teacher_cache.from_model(model, spec, data.labels.fine, data.images, "t")
    with torch.no_grad():
        x = to_model_input(torch.from_numpy(data.images[:5]), spec)
        direct = model.eval()(x)
        mirrored = model(to_model_input(torch.from_numpy(np.ascontiguousarray(data.images[:5, :, ::-1])), spec))
    got = cached.batch(torch.arange(5), torch.tensor([False, True, False, True, False]), torch.device("cpu"))
    for i in range(5):
        ref = mirrored if i % 2 else direct
        assert torch.allclose(got["fine_logits"][i], ref["fine_logits"][i], atol=2e-2, rtol=1e-2)
    # saved and read back in another order
    path = teacher_cache.save_teacher_outputs(cached, data.names, tmp_path / "t.npz")
    back = teacher_cache.load_teacher_outputs(path, data.names[::-1])
    assert np.array_equal(back.plain["features"], cached.plain["features"][::-1])
    with pytest.raises(UsageError, match="no teacher outputs"):
        teacher_cache.load_teacher_outputs(path, ["not-there.png"])


@pytest.mark.parametrize("teacher_kind", ["checkpoint", "npz"])
def test_student_distils_from_cached_teacher(ferplus_slice, tmp_path, teacher_kind):
    from eemkit.data.datasets import load_split
    from eemkit.train import teacher_cache
    from eemkit.train.checkpoint import build_from_checkpoint

    t = train(_recipe_cfg(ferplus_slice, tmp_path / "t", epochs=1, max_steps_per_epoch=1))
    teacher = str(t.best_checkpoint)
    if teacher_kind == "npz":
        model, ck = build_from_checkpoint(t.best_checkpoint)
        spec = PreprocessSpec.from_dict(ck["preprocess"])
        data = load_split(ferplus_slice, "ferplus", "train", spec, "probability")
        teacher = str(teacher_cache.save_teacher_outputs(
            teacher_cache.from_model(model, spec, data.labels.fine, data.images, "t"), data.names, tmp_path / "t.npz"))
    cfg = resolve_config(None, [{"stage": "student", "out": str(tmp_path / "s"), "teacher": teacher,
                                 "data": {"path": str(ferplus_slice), "input_size": 32, **STRONG},
                                 "loss": {"loss": "ce", "distill": True},
                                 "optim": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 2, "precision": "fp32"}}])
    msgs = []

    class Rep:
        def start_epoch(self, *a): ...
        def step(self, *a): ...
        def end_epoch(self, *a): ...
        def message(self, text): msgs.append(text)

    res = train(cfg, reporter=Rep())
    assert np.isfinite(res.history[0]["train_loss"])
    assert any("cached the teacher's outputs" in m for m in msgs)


def test_preset_extends_another_and_cycles_are_refused(tmp_path):
    student = resolve_config("ferplus-student-r18-robust-nodistill")
    teacher = resolve_config("ferplus-teacher-robust")
    assert student.stage == "student" and not student.loss.distill and student.teacher is None
    assert student.data == teacher.data and student.optim == teacher.optim  # the recipe is inherited
    (tmp_path / "a.yaml").write_text(f"extends: {tmp_path / 'b.yaml'}\n")
    (tmp_path / "b.yaml").write_text(f"extends: {tmp_path / 'a.yaml'}\n")
    with pytest.raises(UsageError, match="cycle"):
        resolve_config(str(tmp_path / "a.yaml"))


def test_mixed_teacher_targets_keep_the_temperature():
    from eemkit.train.loop import _mix_batch

    cfg = resolve_config(None, [{"data": {"mixup": 0.4}, "loss": {"temperature": 4.0}}])
    v = torch.randn(4, 8)
    x = torch.zeros(4, 3, 8, 8)
    _, _, mixed = _mix_batch(x, torch.arange(4), {"fine_logits": v}, 8, cfg, np.random.default_rng(0))
    # recompute what was mixed: the softened teacher distributions, lam-weighted
    _, lam, perm = mix_batch(x, 0.4, 0.0, np.random.default_rng(0))
    p = torch.softmax(v / 4, 1)
    assert torch.allclose(torch.softmax(mixed["fine_logits"] / 4, 1), lam * p + (1 - lam) * p[perm], atol=1e-5)


def test_balanced_sampling_records_a_uniform_prior(ferplus_slice, tmp_path):
    cfg = _recipe_cfg(ferplus_slice, tmp_path / "b", epochs=1, max_steps_per_epoch=1)
    cfg = resolve_config(None, [cfg.to_dict(), {"data": {"balanced": True}}])
    train(cfg)
    prior = load_checkpoint(tmp_path / "b" / "last.pt")["class_prior"]
    assert prior == pytest.approx([1 / 8] * 8)


def test_validation_scores_the_train_operating_point_of_a_logit_adjusted_model(ferplus_slice, tmp_path, monkeypatch):
    """With logit adjustment (tau 0.5) the raw logits carry pi^(1 - tau): the loop must select and report
    at the runtimes' train point, z + tau * log(pi), not on the raw logits."""
    import eemkit.train.loop as loop
    from eemkit.train.validate import evaluate_imageset

    seen = []

    def spy(*args, **kw):
        seen.append(kw.get("shift"))
        return evaluate_imageset(*args, **kw)

    monkeypatch.setattr(loop, "evaluate_imageset", spy)
    cfg = _recipe_cfg(ferplus_slice, tmp_path / "la", epochs=1)
    cfg = resolve_config(None, [cfg.to_dict(), {"data": {"limit": 20, "label_mode": "majority"}}])  # 3,3,3,3,2,2,2,2 per class
    res = train(cfg)
    pi = np.asarray(load_checkpoint(res.best_checkpoint)["class_prior"], dtype=np.float64)
    want = 0.5 * np.log(pi / pi.sum())
    assert np.ptp(want) > 0.1  # an unbalanced prior, so a missing shift cannot pass
    assert len(seen) == 1 and seen[0] is not None
    assert np.allclose(seen[0].fine, want - want.mean(), atol=1e-5)


def test_evaluate_imageset_applies_the_shift():
    from eemkit.labels import LabelSpace
    from eemkit.priors import PriorShift
    from eemkit.train.validate import evaluate_imageset

    class Fixed(torch.nn.Module):  # logits favour class 0 by 1: a shift of +2 on class 1 flips every prediction
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            n = x.shape[0]
            fine = torch.zeros(n, 8)
            fine[:, 0] = 1.0
            return {"fine_logits": fine + self.w, "coarse_logits": torch.zeros(n, 4)}

    from eemkit.data.datasets import ImageSet
    from eemkit.labels import FERPLUS_CLASSES

    spec = PreprocessSpec.for_input(32)
    labels = LabelSpace(FERPLUS_CLASSES)
    data = ImageSet(np.zeros((4, spec.resize_size, spec.resize_size, 1), np.uint8), np.ones(4, np.int64), labels, spec,
                    [f"{i}.png" for i in range(4)])
    assert evaluate_imageset(Fixed(), data, labels)["accuracy"] == 0.0
    shift = PriorShift("t", np.asarray([0, 2, 0, 0, 0, 0, 0, 0], np.float32), np.zeros(4, np.float32))
    assert evaluate_imageset(Fixed(), data, labels, shift=shift)["accuracy"] == 100.0
