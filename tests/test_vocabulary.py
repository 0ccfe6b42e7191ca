"""One CLI vocabulary: new spellings shown, old ones hidden but working, resume from the run's config."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app
from eemkit.cli.common import either
from eemkit.config import resume_preset
from eemkit.errors import UsageError

runner = CliRunner()


def test_resume_without_a_preset_reads_the_runs_config(tmp_path):
    (tmp_path / "config.yaml").write_text("stage: teacher\n")
    assert resume_preset(None, True, tmp_path) == str(tmp_path / "config.yaml")


def test_an_explicit_preset_wins_over_the_runs_config(tmp_path):
    (tmp_path / "config.yaml").write_text("stage: teacher\n")
    assert resume_preset("ferplus-teacher", True, tmp_path) == "ferplus-teacher"


def test_old_spelling_is_hidden_from_help():
    assert "--batch " not in runner.invoke(app, ["bench", "--help"], terminal_width=200).output


def test_new_spelling_is_in_help():
    assert "--batch-size" in runner.invoke(app, ["bench", "--help"], terminal_width=200).output


def test_old_spelling_still_gives_its_value():
    assert either(None, "1,8", "1,32") == "1,8"


def test_both_spellings_with_different_values_are_refused():
    with pytest.raises(UsageError):
        either("1,32", "1,8", None, "--batch-size and --batch")


def test_resume_needs_none_of_the_original_flags(ferplus_slice, tmp_path):
    out = str(tmp_path / "t")
    first = runner.invoke(app, ["train", "student", "--no-distill", "--data", str(ferplus_slice), "--out", out, "--input-size", "32",
                                "--batch-size", "8", "--epochs", "1", "--max-steps", "1", "--backbone", "mobilenet_v3_small"])
    assert first.exit_code == 0, first.output
    r = runner.invoke(app, ["train", "student", "--resume", "--out", out, "--epochs", "2"])
    assert r.exit_code == 0, r.output


def test_cli_choices_match_the_library_tables():
    from eemkit.cli.common import DataFormat, Detector, Device, LabelMode, Loss
    from eemkit.cli.export import CalibMethod, Int8Target
    from eemkit.data.datasets import FORMATS, LABEL_MODES
    from eemkit.export.quantize import METHODS, TARGETS
    from eemkit.losses import LOSSES
    from eemkit.runtime import DEVICES
    from eemkit.runtime.faces import DETECTORS

    cli = [{e.value for e in c} for c in (DataFormat, Device, CalibMethod, Int8Target, Loss, LabelMode, Detector)]
    assert cli == [set(FORMATS), set(DEVICES), set(METHODS), set(TARGETS), set(LOSSES), set(LABEL_MODES),
                   set(DETECTORS) - {"none"}]  # "none" is predict --crops


@pytest.mark.parametrize("command", ["predict", "demo", "eval", "bench"])
def test_every_command_that_detects_faces_takes_the_same_detector_options(command):
    out = runner.invoke(app, [command, "--help"], terminal_width=200).output
    assert "--detector " in out and "--detector-model" in out and "haar" in out and "centerface" in out
