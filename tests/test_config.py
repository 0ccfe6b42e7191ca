"""Config parsing and validation: overrides, value ranges, sections (issue 14, item 4)."""

import pytest
from typer.testing import CliRunner

from eemkit.cli.app import app
from eemkit.config import parse_override, resolve_config
from eemkit.errors import UsageError

runner = CliRunner()


@pytest.mark.parametrize("text, expected", [
    ("optim.lr=0.001", {"optim": {"lr": 0.001}}),
    ("out=runs/x", {"out": "runs/x"}),
    ("data.limit=", {"data": {"limit": None}}),
    ("data.path=a=b", {"data": {"path": "a=b"}}),
    ("model.backbone=[unclosed", {"model": {"backbone": "[unclosed"}}),
    ("data.balanced=true", {"data": {"balanced": True}}),
], ids=["float", "top-level", "empty-is-none", "value-with-equals", "bad-yaml-is-text", "bool"])
def test_parse_override(text, expected):
    assert parse_override(text) == expected


def test_override_in_e_notation_becomes_a_float():
    assert resolve_config(None, [parse_override("optim.lr=1e-3")]).optim.lr == 0.001


def test_parse_override_without_equals_is_usage_error():
    with pytest.raises(UsageError, match="section.key=value"):
        parse_override("optim.lr")


@pytest.mark.parametrize("override, key", [
    ({"data": {"crop_pct": 0}}, "data.crop_pct"),
    ({"data": {"crop_pct": 1.5}}, "data.crop_pct"),
    ({"model": {"dropout": 2}}, "model.dropout"),
    ({"optim": {"lr": -1}}, "optim.lr"),
    ({"optim": {"lr": float("nan")}}, "optim.lr"),
    ({"model": {"hidden": 0}}, "model.hidden"),
    ({"optim": {"step_size": 0}}, "optim.step_size"),
    ({"optim": {"epochs": 0}}, "optim.epochs"),
    ({"optim": {"batch_size": 0}}, "optim.batch_size"),
    ({"optim": {"gamma": 0}}, "optim.gamma"),
    ({"optim": {"threads": -1}}, "optim.threads"),
    ({"data": {"limit": 0}}, "data.limit"),
    ({"model": {"head_act": "gelu"}}, "model.head_act"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_out_of_range_value_names_the_key(override, key):
    with pytest.raises(UsageError, match=key.replace(".", r"\.")):
        resolve_config(None, [override])


def test_a_section_set_to_a_scalar_does_not_drop_the_preset_section():
    with pytest.raises(UsageError, match="optim"):
        resolve_config("ferplus-teacher", [{"optim": 3}, {"optim": {"epochs": 1}}])


def test_negative_lr_on_the_command_line_is_a_one_line_usage_error(tmp_path):
    r = runner.invoke(app, ["train", "teacher", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--lr", "-1"])
    assert (r.exit_code, "Traceback" in r.output, "optim.lr" in r.output) == (2, False, True), r.output


def test_limits_of_the_ranges_are_accepted():
    cfg = resolve_config(None, [{"data": {"crop_pct": 1.0}, "optim": {"lr": 0.0, "gamma": 1.0}, "model": {"dropout": 0.0}}])
    assert (cfg.data.crop_pct, cfg.optim.lr, cfg.optim.gamma) == (1.0, 0.0, 1.0)
