"""Class prior as an operating point, mirror averaging at export, eval of any model, robustness."""

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from eemkit.artifact import ArtifactMeta
from eemkit.cli.app import app
from eemkit.errors import UsageError
from eemkit.priors import prior_shift

runner = CliRunner()
CLASSES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
PI = [0.35, 0.3, 0.12, 0.12, 0.08, 0.005, 0.02, 0.005]
META = ArtifactMeta.from_dict({"classes": CLASSES, "coarse_classes": ["positive", "negative", "neutral", "surprise"],
                               "preprocess": {}, "coarse_index": [2, 0, 3, 1, 1, 1, 1, 1], "class_prior": PI,
                               "logit_adjust": 0.0})


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_uniform_prior_divides_out_the_training_prior():
    z = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    out = prior_shift(META, "uniform").apply({"fine_logits": z, "coarse_logits": np.zeros((4, 4), np.float32)})
    expect = _softmax(z) / np.asarray(PI)
    np.testing.assert_allclose(_softmax(out["fine_logits"]), expect / expect.sum(-1, keepdims=True), rtol=1e-4)
    assert prior_shift(META, "train").is_identity


def test_logit_adjusted_model_train_point_adds_the_prior_back():
    meta = replace(META, logit_adjust=1.0)
    z = np.zeros((1, 8), np.float32)
    p = _softmax(prior_shift(meta, "train").apply({"fine_logits": z})["fine_logits"])
    np.testing.assert_allclose(p[0], PI, rtol=1e-4)
    assert prior_shift(meta, "uniform").is_identity


def test_metadata_without_coarse_index_gives_finite_coarse_shifts():
    # hand-made metadata: the fine -> coarse map comes from the class names (the C-F map), never a NaN shift
    meta = replace(META, coarse_index=None)
    for choice in ("uniform", "train"):
        got = prior_shift(meta, choice).coarse
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, prior_shift(META, choice).coarse, atol=1e-6)
    odd = ArtifactMeta.from_dict({"classes": ["a", "b"], "coarse_classes": ["x", "y"], "preprocess": {},
                                  "class_prior": [0.9, 0.1], "logit_adjust": 0.0})
    shift = prior_shift(odd, "uniform")  # names outside the C-F map: the coarse logits are left alone
    assert np.isfinite(shift.fine).all() and not shift.coarse.any()


def test_prior_file_and_its_errors(tmp_path):
    f = tmp_path / "q.json"
    f.write_text(json.dumps({c: (1.0 if c != "neutral" else 0.0) for c in CLASSES} | {"happy": 2.0, "happiness": 2.0}))
    with pytest.raises(UsageError, match="happ"):
        prior_shift(META, f)  # "happy" is an alias of happiness: given twice it still must not be silently merged
    f.write_text(json.dumps({c: 1.0 for c in CLASSES if c != "fear"}))
    with pytest.raises(UsageError, match="missing classes \\['fear'\\]"):
        prior_shift(META, f)
    f.write_text(json.dumps({c: 2.0 for c in CLASSES}))
    assert np.allclose(prior_shift(META, f).fine, prior_shift(META, "uniform").fine, atol=1e-5)
    with pytest.raises(UsageError, match="train, uniform, uniform:S or a JSON file"):
        prior_shift(META, "balanced")
    with pytest.raises(UsageError, match="no training prior"):
        prior_shift(replace(META, class_prior=None), "uniform")


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_partial_prior_removes_that_share_of_the_training_prior(tau):
    """uniform:S multiplies the train-point probabilities by pi^-S (renormalised), fine and coarse; its ends are
    train and uniform, also on a logit-adjusted model."""
    meta = replace(META, logit_adjust=tau)
    z = np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32)
    zc = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    out = {"fine_logits": z, "coarse_logits": zc}
    at = {c: prior_shift(meta, c).apply(out) for c in ("train", "uniform", "uniform:0", "uniform:1", "uniform:0.25")}
    for end, same in (("train", "uniform:0"), ("uniform", "uniform:1")):
        for k in out:
            np.testing.assert_allclose(_softmax(at[same][k]), _softmax(at[end][k]), atol=1e-5)
    pi = np.asarray(PI) / sum(PI)
    expect = _softmax(at["train"]["fine_logits"]) * pi ** -0.25
    np.testing.assert_allclose(_softmax(at["uniform:0.25"]["fine_logits"]), expect / expect.sum(-1, keepdims=True), rtol=1e-4)
    pc = np.zeros(4)
    np.add.at(pc, np.asarray(META.coarse_index), pi)
    expect_c = _softmax(at["train"]["coarse_logits"]) * pc ** -0.25
    np.testing.assert_allclose(_softmax(at["uniform:0.25"]["coarse_logits"]), expect_c / expect_c.sum(-1, keepdims=True),
                               rtol=1e-4)
    # the rare classes gain at every step from train to uniform
    rare = [CLASSES.index(c) for c in ("disgust", "contempt")]
    probs = [_softmax(prior_shift(meta, f"uniform:{s}").apply(out)["fine_logits"])[:, rare] for s in (0, 0.25, 0.5, 1)]
    assert all((b > a).all() for a, b in zip(probs, probs[1:]))
    assert prior_shift(meta, "uniform:0.50").name == "uniform:0.5"


@pytest.mark.parametrize("bad", ["uniform:", "uniform:1.5", "uniform:-0.1", "uniform:nan", "uniform:half"])
def test_partial_prior_outside_0_1_is_a_usage_error(bad):
    from eemkit.eval.evaluate import prior_keys

    with pytest.raises(UsageError, match=r"uniform:S needs a number S in \[0, 1\]"):
        prior_shift(META, bad)
    with pytest.raises(UsageError, match="uniform:S needs"):
        prior_keys(("train", bad))  # eval checks before it reads any image


def test_prior_keys_name_points_and_files_apart(tmp_path):
    from eemkit.eval.evaluate import prior_keys

    f = tmp_path / "uniform:0.5"  # a file named like an operating point keeps its path
    f.write_text(json.dumps({c: 1.0 for c in CLASSES}))
    keys = prior_keys(("train", "uniform:0.5", "uniform:0.50", str(f), "uniform"))
    assert keys == {"train": "train", "uniform:0.5": "uniform:0.5", str(f.resolve()): str(f), "uniform": "uniform"}


@pytest.fixture(scope="module")
def mirrored_export(tiny_student, tmp_path_factory):
    out = tmp_path_factory.mktemp("mirror")
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--mirror-average", "--json"])
    assert r.exit_code == 0, r.output
    return out / "model.onnx"


def test_mirror_averaged_export_matches_pytorch(mirrored_export, tiny_student, ferplus_slice):
    from eemkit.eval.parity import check_artifact
    from eemkit.export.metadata import read_onnx_metadata

    meta = read_onnx_metadata(mirrored_export)
    assert meta["mirror_average"] is True and len(meta["class_prior"]) == 8
    rep = check_artifact(mirrored_export, tiny_student, ferplus_slice, "ferplus", "test")
    assert rep["passed"] and rep["fine"]["max_abs_diff"] < 1e-3


def test_eval_of_an_onnx_at_both_priors_with_robustness(mirrored_export, ferplus_slice, tmp_path):
    r = runner.invoke(app, ["eval", str(mirrored_export), "--data", str(ferplus_slice), "--json", "--out", str(tmp_path / "ev"),
                            "--conditions", "clean,mirror,low-light,demo"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert set(res["priors"]) == {"train", "uniform"}
    rows = {x["condition"]: x for x in res["robustness"]}
    assert list(rows) == ["clean", "mirror", "low-light", "demo"]
    # a mirror-averaged model gives the same answer for a face and its mirror
    assert rows["mirror"]["accuracy_train"] == rows["clean"]["accuracy_train"]
    assert rows["clean"]["accuracy_train"] == res["priors"]["train"]["accuracy"]
    assert 0 <= rows["demo"]["detector_recall"] <= 100
    assert (tmp_path / "ev" / "robustness.png").stat().st_size > 1000


def test_a_condition_draws_the_same_alone_as_in_the_full_table(mirrored_export, ferplus_slice, monkeypatch):
    """The perturbation of a condition (its random draws) does not depend on which others are asked for."""
    from eemkit.data.datasets import read_split_images
    from eemkit.eval import robustness as rob
    from eemkit.runtime import open_runner

    seeds = []
    real = np.random.default_rng

    def spy(seed=None):
        seeds.append(seed)
        return real(seed)

    monkeypatch.setattr(rob.np.random, "default_rng", spy)
    images, y, _, _ = read_split_images(ferplus_slice, "ferplus", "test", limit=4)
    with open_runner(mirrored_export) as run:
        rob.robustness(run, images, y, ["rotate"])
        alone = list(seeds)
        seeds.clear()
        rob.robustness(run, images, y, ["low-res", "jpeg", "rotate"])
    assert len(alone) == 1 and seeds[2] == alone[0] and len(set(seeds)) == 3


def test_robustness_rejects_unknown_condition(mirrored_export, ferplus_slice, tmp_path):
    r = runner.invoke(app, ["eval", str(mirrored_export), "--data", str(ferplus_slice), "--conditions", "fog",
                            "--out", str(tmp_path / "ev")])
    assert r.exit_code == 2 and "unknown robustness condition" in r.output and "Traceback" not in r.output


def test_predict_crops_and_uniform_prior_change_the_answer(mirrored_export, ferplus_slice, tmp_path):
    from eemkit.runtime import open_runner

    faces = sorted((ferplus_slice / "FER2013Test").glob("*.png"))[:6]
    r = runner.invoke(app, ["predict", *map(str, faces), "--model", str(mirrored_export), "--crops", "--json"])
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)["records"]
    assert len(recs) == 6 and all(x["box"][2] == 48 for x in recs)
    r2 = runner.invoke(app, ["predict", *map(str, faces), "--model", str(mirrored_export), "--crops", "--json",
                             "--class-prior", "uniform"])
    recs2 = json.loads(r2.stdout)["records"]
    with open_runner(mirrored_export) as run:
        pi = np.asarray(run.meta.class_prior)
    # uniform = train probabilities divided by the training prior, renormalised
    p = np.asarray(list(recs[0]["fine_probs"].values())) / pi
    np.testing.assert_allclose(list(recs2[0]["fine_probs"].values()), p / p.sum(), atol=2e-3)


@pytest.fixture(scope="module")
def skewed_prior_export(mirrored_export, tmp_path_factory):
    """The mirrored export with a steep recorded training prior (metadata only; each class e^4 times rarer than
    the one before): removing a share of it moves the tiny model's confident answers (margins 0.7-26 logits),
    so each operating point answers differently."""
    import onnx

    from eemkit.export.metadata import embed, read_onnx_metadata

    meta = read_onnx_metadata(mirrored_export)
    k = len(meta["classes"])
    ladder = np.exp(-4.0 * np.arange(k))
    meta["class_prior"] = (ladder / ladder.sum()).tolist()
    proto = onnx.load(str(mirrored_export))
    embed(proto, meta)
    out = tmp_path_factory.mktemp("skewed") / "model.onnx"
    onnx.save(proto, str(out))
    return out


def test_eval_scores_partial_priors_between_the_two_ends(skewed_prior_export, ferplus_slice, tmp_path):
    from eemkit.data.datasets import read_split_images
    from eemkit.runtime import open_runner

    r = runner.invoke(app, ["eval", str(skewed_prior_export), "--data", str(ferplus_slice), "--json", "--out",
                            str(tmp_path / "ev"), "--class-prior", "train", "--class-prior", "uniform:0.5",
                            "--class-prior", "uniform:1", "--class-prior", "uniform:-0", "--class-prior", "uniform"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert list(res["priors"]) == ["train", "uniform:0.5", "uniform:1", "uniform:0", "uniform"]
    pri = res["priors"]
    assert pri["uniform:1"]["confusion"] == pri["uniform"]["confusion"]
    assert pri["uniform:0"]["confusion"] == pri["train"]["confusion"]
    assert len({json.dumps(pri[p]["confusion"]) for p in ("train", "uniform:0.5", "uniform")}) == 3
    # each point is the prior shift of that name applied to the model's logits
    images, y, _, _ = read_split_images(ferplus_slice, "ferplus", "test")
    with open_runner(skewed_prior_export) as run:
        raw = run.infer_images(images, raw=True)
        for p in ("train", "uniform:0.5", "uniform"):
            pred = run.set_class_prior(p).postprocess(raw)["fine_logits"].argmax(1)
            assert pri[p]["accuracy"] == pytest.approx(100.0 * float((pred == np.asarray(y)).mean()))
    assert (tmp_path / "ev" / "confusion-uniform-0.5.png").stat().st_size > 1000  # no ":" in a file name
    assert res["confusion_png"]["uniform:0.5"].endswith("confusion-uniform-0.5.png")


def test_confusion_files_are_distinct_for_names_that_read_alike():
    from eemkit.eval.evaluate import confusion_files

    names = ["uniform:0.5", "uniform-0.5", "/x/a-b/q.json", "/x/a/b/q.json", "ä.json", "ö.json", "A.json", "a.json"]
    files = confusion_files(names)
    assert len({f.casefold() for f in files.values()}) == len(names)
    assert files["ä.json"] == "confusion-ä.json.png" and files["uniform:0.5"] == "confusion-uniform-0.5.png"
    assert all("/" not in f and ":" not in f for f in files.values())


def test_partial_prior_names_keep_every_digit():
    from eemkit.eval.evaluate import prior_keys

    keys = prior_keys(("uniform:0.9999999", "uniform:1", "uniform:0.1234567", "uniform:0.1234568", "uniform:-0", "uniform:0"))
    assert list(keys) == ["uniform:0.9999999", "uniform:1", "uniform:0.1234567", "uniform:0.1234568", "uniform:0"]


def test_predict_reports_its_operating_point_and_keeps_inputs(skewed_prior_export, ferplus_slice, tmp_path):
    crops = sorted((ferplus_slice / "FER2013Test").glob("*.png"))[:4]
    r = runner.invoke(app, ["predict", *map(str, crops), "--model", str(skewed_prior_export), "--crops", "--json",
                            "--class-prior", "uniform:0.5"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["class_prior"] == "uniform:0.5"
    prior = tmp_path / "q.json"
    prior.write_text(json.dumps({c: 1.0 for c in CLASSES}))
    for target in (skewed_prior_export, prior):  # --csv onto the model or the prior file would destroy it
        before = target.read_bytes()
        r = runner.invoke(app, ["predict", *map(str, crops), "--model", str(skewed_prior_export), "--crops",
                                "--class-prior", str(prior), "--csv", str(target)])
        assert r.exit_code == 2 and "--csv file" in r.output and target.read_bytes() == before, r.output


def test_eval_of_two_prior_files_of_one_name_writes_both_confusions(mirrored_export, ferplus_slice, tmp_path):
    files = []
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        files.append(tmp_path / sub / "q.json")
        files[-1].write_text(json.dumps({c: (2.0 if c == sub.replace("a", "fear").replace("b", "anger") else 1.0) for c in CLASSES}))
    r = runner.invoke(app, ["eval", str(mirrored_export), "--data", str(ferplus_slice), "--json", "--out", str(tmp_path / "ev"),
                            "--class-prior", str(files[0]), "--class-prior", str(files[1])])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["priors"]) == 2
    assert len(list((tmp_path / "ev").glob("confusion-*q.json.png"))) == 2


def test_eval_with_a_prior_file_that_does_not_exist_is_a_usage_error(mirrored_export, ferplus_slice, tmp_path):
    r = runner.invoke(app, ["eval", str(mirrored_export), "--data", str(ferplus_slice), "--class-prior", "train",
                            "--class-prior", str(tmp_path / "typo.json"), "--out", str(tmp_path / "ev")])
    assert r.exit_code == 2 and "train, uniform, uniform:S or a JSON file" in r.output and "Traceback" not in r.output


def test_eval_notes_the_uniform_prior_of_a_model_that_records_none(mirrored_export, tmp_path):
    """A model exported before eemkit recorded the training prior (the export's metadata with class_prior
    removed, opened by the real ONNX Runtime runner) is scored at `train`, with a note for `uniform`."""
    import onnx

    from eemkit.eval.evaluate import _usable_priors, prior_keys
    from eemkit.export.metadata import embed, read_onnx_metadata
    from eemkit.runtime import open_runner

    meta = read_onnx_metadata(mirrored_export)
    meta.pop("class_prior", None)
    proto = onnx.load(str(mirrored_export))
    embed(proto, meta)
    onnx.save(proto, str(tmp_path / "old.onnx"))
    old = open_runner(tmp_path / "old.onnx", threads=1)
    assert old.meta.class_prior is None
    notes: list[str] = []
    assert _usable_priors(old, prior_keys(("train", "uniform")), notes) == {"train": "train"}
    assert len(notes) == 1 and "no training prior" in notes[0]
    notes = []
    assert _usable_priors(old, prior_keys(("train", "uniform:0.5", "uniform:0")), notes) == \
        {"train": "train", "uniform:0": "uniform:0"}  # uniform:0 is train: it needs no recorded prior
    assert len(notes) == 1 and "uniform:0.5" in notes[0]
