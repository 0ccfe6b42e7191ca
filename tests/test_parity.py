"""Tolerances are chosen by the library from the artifact's real precision, overrides applied on top."""

from __future__ import annotations

import numpy as np

from eemkit.eval.parity import Tolerance, parity_report, resolve_tolerance
from eemkit.labels import LabelSpace


def _report(precision: str, overrides: dict) -> dict:
    labels = LabelSpace(("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"))
    rng = np.random.default_rng(0)
    fine = rng.normal(size=(16, len(labels.fine))).astype(np.float32)
    coarse = rng.normal(size=(16, len(labels.coarse))).astype(np.float32)
    out = {"fine_logits": fine, "coarse_logits": coarse}
    return parity_report({"artifact": "m.engine"}, out, out, fine.argmax(1), labels, precision, overrides=overrides)


def test_int8_override_keeps_the_int8_accuracy_rules():
    assert resolve_tolerance("int8", {"max_acc_drop": 0.5, "min_agreement": None}) == Tolerance(max_acc_drop=0.5, max_avg_drop=2.0)


def test_int8_engine_report_does_not_get_the_unknown_agreement_rule():
    assert _report("int8", {"max_avg_drop": 3.0})["tolerance"] == {"min_agreement": None, "max_acc_drop": 1.0, "max_avg_drop": 3.0}


def test_unknown_precision_keeps_the_agreement_rule():
    assert resolve_tolerance("unknown") == Tolerance(min_agreement=99.0)
