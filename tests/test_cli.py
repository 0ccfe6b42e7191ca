import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app

runner = CliRunner()
COMMANDS = [["train"], ["train", "teacher"], ["train", "student"], ["eval"], ["export"], ["check"], ["bench"],
            ["predict"], ["demo"], ["data"], ["data", "stats"], ["info"], ["pipeline"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_command_has_help(cmd):
    r = runner.invoke(app, [*cmd, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage" in r.output


def test_import_is_light():
    code = "import sys, eemkit, eemkit.labels, eemkit.errors; print([m for m in ('onnxruntime', 'tensorrt', 'cv2', 'torch') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_info_json():
    r = runner.invoke(app, ["info", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["torch"].startswith("2.14") and "CPUExecutionProvider" in d["ort_providers"]
    assert "tensorrt" in d


def test_unknown_command_is_usage_error():
    r = runner.invoke(app, ["frobnicate"])
    assert r.exit_code == 2
