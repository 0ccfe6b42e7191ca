"""`eemkit pipeline`: train -> export FP32 + INT8 -> check -> bench in one command, on a small dataset."""

import json

from typer.testing import CliRunner

from eemkit.cli.app import app

runner = CliRunner()


def test_pipeline_records_every_stage_on_a_small_dataset(ferplus_slice, tmp_path):
    """Smaller than the 512-image calibration default: the pipeline calibrates on what train has. Parity
    itself is asserted in test_export (a model trained for 2 steps need not hold it)."""
    out = tmp_path / "p"
    r = runner.invoke(app, ["pipeline", str(ferplus_slice), "--out", str(out), "--backbone", "resnet18", "--epochs", "1",
                            "--steps", "2", "--input-size", "32"])
    assert (out / "pipeline.json").is_file(), r.output
    assert set(json.loads((out / "pipeline.json").read_text())) == {"train", "export", "checks", "bench"}
