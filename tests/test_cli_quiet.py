"""Quiet by default: the reward library's JSON log lines (right for CloudWatch) never reach the terminal
during an ``rft`` command; they go to ``reward-log.jsonl`` in ``--out`` (or are counted in one line), and
``--verbose`` shows them."""

from __future__ import annotations

import json
from pathlib import Path

from rft.cli import main

ROOT = Path(__file__).resolve().parents[1]
GSM8K = str(ROOT / "reward_specs" / "gsm8k.toml")


def rows_without_reference(tmp_path: Path, n: int = 150) -> Path:
    """150 rows, one the spec cannot grade (no usable reference: under the 1% that score refuses), whose
    dimension logs 'dimension not graded'."""
    path = tmp_path / "data.jsonl"
    lines = (ROOT / "data" / "sample" / "train.jsonl").read_text().splitlines()[:n]
    records = [json.loads(line) for line in lines]
    records[3]["reference_answer"] = {"final_answer": "see the explanation"}
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def json_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("{")]


def test_no_json_log_line_reaches_the_terminal_and_one_line_says_where_they_went(tmp_path, capsys):
    data = rows_without_reference(tmp_path)
    out_dir = tmp_path / "out"
    main(["score", "--spec", GSM8K, "--data", str(data), "--out", str(out_dir)])
    captured = capsys.readouterr()
    assert json_lines(captured.err) == [] and json_lines(captured.out) == []
    (note,) = [line for line in captured.err.splitlines() if "reward log" in line]
    assert "dimension not graded" in note and "--verbose" in note
    logged = (out_dir / "reward-log.jsonl").read_text().splitlines()
    assert logged and all(json.loads(line)["message"] for line in logged)


def test_without_an_output_directory_the_lines_are_counted(tmp_path, capsys):
    main(["score", "--spec", GSM8K, "--data", str(rows_without_reference(tmp_path))])
    captured = capsys.readouterr()
    assert json_lines(captured.err) == []
    assert any("reward log lines held back" in line for line in captured.err.splitlines())


def test_verbose_shows_them(tmp_path, capsys):
    main(["score", "--verbose", "--spec", GSM8K, "--data", str(rows_without_reference(tmp_path))])
    assert json_lines(capsys.readouterr().err)
    main(["--verbose", "score", "--spec", GSM8K, "--data", str(rows_without_reference(tmp_path))])
    assert json_lines(capsys.readouterr().err)
