"""The `memlearn` command line: help with examples, exit codes, --json."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from memlearn.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args", [[], ["run"], ["sweep"], ["report"], ["bench"], ["devices"]])
def test_help_shows_an_example(args):
    result = runner.invoke(app, [*args, "--help"], prog_name="memlearn")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Usage: memlearn" in text
    if args != ["devices"]:
        assert "Example" in text and "memlearn " in text.split("Example", 1)[1]


def test_bad_config_exits_2_with_a_message(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('name = "c"\n[train]\nepochs = -1\n')
    result = runner.invoke(app, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "error:" in result.output and "train.epochs=-1" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2 and "CONFIG" in result.output
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "not a memlearn run or sweep folder" in result.output


def test_run_json_prints_the_summary_last(tmp_path):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "experiments"))
    from helpers import blobs_config

    cfg = blobs_config(tmp_path, name="tiny", epochs=2)
    result = runner.invoke(app, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--json", "--no-progress",
                                 "--set", "train.float_baseline=false"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "ok" and summary["epochs"] == 2 and summary["float_test_accuracy"] is None
    again = runner.invoke(app, ["report", str(tmp_path / "runs" / "tiny")])
    assert again.exit_code == 0 and "report.html" in again.output
