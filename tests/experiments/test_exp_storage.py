"""Crash-safe files: atomic replace, torn metrics lines, corrupt checkpoints and result tables."""

from __future__ import annotations

import json

import pytest
import torch

from memlearn.experiments.storage import (CorruptFileError, JsonLines, atomic_write_text, load_checkpoint,
                                          read_jsonl, save_checkpoint)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_torn_last_metrics_line_is_skipped_then_trimmed(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = JsonLines(path)
    log({"epoch": 1, "loss": 0.5})
    log({"epoch": 2, "loss": float("nan")})  # non-finite floats stay valid JSON
    with open(path, "ab") as f:
        f.write(b'{"epoch": 3, "lo')  # a write cut by SIGKILL
    assert [r["epoch"] for r in read_jsonl(path)] == [1, 2]
    assert read_jsonl(path)[1]["loss"] == "nan"
    JsonLines(path)({"epoch": 3, "loss": 0.1})  # reopening trims the torn tail before appending
    assert [r["epoch"] for r in read_jsonl(path)] == [1, 2, 3]


def test_broken_middle_metrics_line_is_a_clear_error(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\n{broken\n{"epoch": 3}\n')
    with pytest.raises(CorruptFileError, match="line 2 is not valid JSON"):
        read_jsonl(path)
    assert path.read_text() == '{"epoch": 1}\n{broken\n{"epoch": 3}\n'


def test_truncated_checkpoint_is_a_clear_error_and_kept(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 2, "w": torch.arange(1000.0)})
    assert load_checkpoint(path)["epoch"] == 2
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="checkpoint.*corrupt or truncated"):
        load_checkpoint(path)
    assert path.read_bytes() == data[: len(data) // 2]  # nothing deleted or rewritten
    path.write_bytes(b"")
    with pytest.raises(CorruptFileError):
        load_checkpoint(path)


def test_results_table_with_broken_last_line(tmp_path):
    from memlearn.experiments.sweep import read_results, write_results

    rows = [{"trial_id": "a", "status": "ok", "test_accuracy": 0.9}, {"trial_id": "b", "status": "failed",
                                                                     "test_accuracy": None}]
    write_results(tmp_path, rows)
    (tmp_path / "results.parquet").write_bytes(b"PAR1 garbage")  # damaged parquet: fall back to csv
    with open(tmp_path / "results.csv", "a") as f:
        f.write('c,o')  # broken last line
    got = read_results(tmp_path)
    assert [r["trial_id"] for r in got][:2] == ["a", "b"] and got[0]["status"] == "ok"
    (tmp_path / "results.csv").write_text("not,a,results\x00table\n")
    with pytest.raises(CorruptFileError, match="unreadable"):
        read_results(tmp_path)
    assert (tmp_path / "results.parquet").read_bytes() == b"PAR1 garbage"
