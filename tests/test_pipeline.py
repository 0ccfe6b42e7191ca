"""`eemkit pipeline`: train -> export FP32 + INT8 -> check -> bench in one command, on a small dataset."""

import json
from pathlib import Path

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
    d = json.loads((out / "pipeline.json").read_text())
    # on this seeded synthetic set both the FP32 and the INT8 artifact hold parity, so the run exits 0
    # (exit 3 for a broken tolerance is tested in test_export and test_reference)
    assert [c["passed"] for c in d["checks"]] == [True, True], d["checks"]
    assert r.exit_code == 0, r.output
    assert d["train"]["epochs"] == 1 and Path(d["train"]["best_checkpoint"]).is_file()
    assert set(d["export"]["artifacts"]) >= {"onnx", "onnx-int8"}
    assert all(Path(d["export"]["artifacts"][k]["path"]).is_file() for k in ("onnx", "onnx-int8"))
    assert len(d["checks"]) == 2 and all(c["n"] > 0 for c in d["checks"]), d["checks"]
    rows = d["bench"]["rows"]
    assert {row["format"] for row in rows} == {"torch", "onnx", "onnx-int8"}
    assert all(row["status"] == "ok" for row in rows), [(row["format"], row.get("reason")) for row in rows]
