"""reference.npz at export, and `eemkit check --reference` (saved outputs or another runtime's model)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tiny_student, ferplus_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "art"
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--int8", "--calib-data", str(ferplus_slice),
                            "--calib-n", "40", "--json"])
    assert r.exit_code == 0, r.output
    return out


def test_export_writes_the_calibration_images_and_pytorch_outputs(exported):
    from eemkit.export.reference import load_reference

    ref = load_reference(exported / "reference.npz")
    assert ref["meta"]["source"] == "calibration" and len(ref["images"]) == 40 and (ref["labels"] >= 0).all()


def test_fp32_artifact_matches_its_reference(exported):
    r = runner.invoke(app, ["check", str(exported / "model.onnx"), "--reference", str(exported / "reference.npz"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["fine"]["max_abs_diff"] < 1e-4


def test_a_perturbed_artifact_fails_its_reference(exported, tmp_path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(exported / "model.onnx"))
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype == np.float32 and w.ndim == 2:  # the linear layers: scramble them
            init.CopyFrom(numpy_helper.from_array(np.random.default_rng(0).permutation(w.ravel()).reshape(w.shape), init.name))
    onnx.save(model, str(tmp_path / "bad.onnx"))
    r = runner.invoke(app, ["check", str(tmp_path / "bad.onnx"), "--reference", str(exported / "reference.npz"), "--json"])
    assert r.exit_code == 3, r.output


def test_the_checkpoint_hash_is_checked_when_both_are_given(exported, tmp_path):
    other = tmp_path / "other.pt"
    other.write_bytes(b"another checkpoint")
    r = runner.invoke(app, ["check", str(exported / "model.onnx"), "--reference", str(exported / "reference.npz"),
                            "--checkpoint", str(other)])
    assert r.exit_code == 2 and "another checkpoint" in " ".join(r.output.split()), r.output


def test_int8_against_the_fp32_model_on_labelled_data(exported, ferplus_slice):
    r = runner.invoke(app, ["check", str(exported / "model.int8.onnx"), "--reference", str(exported / "model.onnx"),
                            "--data", str(ferplus_slice), "--max-acc-drop", "100", "--max-avg-drop", "100", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["reference_precision"] == "fp32"


def test_a_mirror_averaged_export_matches_its_reference(tiny_student, tmp_path):
    out = tmp_path / "mirror"
    r = runner.invoke(app, ["export", str(tiny_student), "--out", str(out), "--mirror-average"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["check", str(out / "model.onnx"), "--reference", str(out / "reference.npz"), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["fine"]["max_abs_diff"] < 1e-4, r.output
