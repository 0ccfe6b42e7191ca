"""Typed artifacts: ArtifactMeta validates and round-trips; Checkpoint loads once; metadata needs no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eemkit.artifact import ArtifactMeta, Checkpoint
from eemkit.errors import UsageError

META = {"classes": ["neutral", "happiness"], "coarse_classes": ["neutral", "positive"], "coarse_index": [0, 1],
        "preprocess": {"input_size": 48}, "input": "float_nchw", "precision": "int8", "logit_adjust": 0.0,
        "mirror_average": False, "quantization": {"method": "minmax"}, "checkpoint_sha256": "ab" * 32,
        "class_prior": [0.5, 0.5], "outputs": ["fine_logits", "coarse_logits"], "stage": "student"}


def test_metadata_round_trips():
    assert ArtifactMeta.from_dict(META).to_dict() == META


def test_missing_key_is_named():
    with pytest.raises(UsageError, match="'preprocess'"):
        ArtifactMeta.from_dict({k: v for k, v in META.items() if k != "preprocess"}, "m.onnx")


def test_bad_input_kind_is_named():
    with pytest.raises(UsageError, match="'uint16'"):
        ArtifactMeta.from_dict(dict(META, input="uint16"))


def test_not_a_checkpoint_is_a_usage_error(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="not a readable checkpoint"):
        Checkpoint.load(tmp_path / "x.pt")


def test_checkpoint_without_weights_is_refused():
    with pytest.raises(UsageError, match="'model'"):
        Checkpoint.from_payload({"model_spec": {}, "labels": {}, "preprocess": {}})


def test_reading_metadata_and_runtimes_needs_no_torch():
    code = "import sys, eemkit.artifact, eemkit.formats, eemkit.runtime, eemkit.export.metadata; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_malformed_value_names_its_key():
    with pytest.raises(UsageError, match="'class_prior'"):
        ArtifactMeta.from_dict(dict(META, class_prior=["a", "b"]))
