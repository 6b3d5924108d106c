"""Every command that reads files answers the same bad inputs the same way: exit 2 and one line on stderr
naming the file, never a traceback — missing, empty, unreadable or not-UTF-8 data and specs, and an
unknown spec. (Unreachable services: tests/test_cli_unreachable.py; skipped rows: tests/test_cli_score.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policy_runs import run_cli

ROOT = Path(__file__).resolve().parents[1]
GSM8K = str(ROOT / "reward_specs" / "gsm8k.toml")
SUPPORT = str(ROOT / "reward_specs" / "support_rubric.toml")
TRAIN = str(ROOT / "data" / "sample" / "train.jsonl")


def bad_files(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"messages": "caf\xe9"}\n')
    directory = tmp_path / "a_directory.jsonl"  # unreadable as a file, for root too
    directory.mkdir()
    return {"missing": tmp_path / "nope.jsonl", "empty": empty, "not_utf8": latin, "unreadable": directory}


def commands(data: str, tmp_path: Path) -> dict[str, list[str]]:
    out = str(tmp_path / "out")
    return {
        "validate-data": ["validate-data", data],
        "score": ["score", "--spec", GSM8K, "--data", data],
        "probe": ["probe", "--spec", GSM8K, "--data", data],
        "baseline": ["baseline", "--spec", GSM8K, "--data", data, "--out", out, "--yes"],
        "eval": [
            "eval",
            "--spec",
            GSM8K,
            "--data",
            data,
            "--base",
            "b",
            "--tuned",
            "t",
            "--out",
            out,
            "--yes",
        ],
        "judge-check": ["judge-check", "--spec", SUPPORT, "--labels", data, "--yes"],
    }


@pytest.mark.parametrize("bad", ["missing", "empty", "not_utf8", "unreadable"])
@pytest.mark.parametrize("command", ["validate-data", "score", "probe", "baseline", "eval", "judge-check"])
def test_a_bad_data_file_is_exit_2_and_one_line(tmp_path, bad, command):
    path = bad_files(tmp_path)[bad]
    code, out, err = run_cli(commands(str(path), tmp_path)[command])
    lines = [line for line in err.splitlines() if line.strip()]
    if command == "validate-data" and bad in ("empty", "not_utf8"):
        # validate-data's job is to report a file's problems: a verdict (exit 1), not a usage error
        assert code == 1 and "Traceback" not in err + out, (out, err)
        return
    assert code == 2, (command, bad, out, err)
    assert len(lines) == 1 and "Traceback" not in err, lines
    assert path.name in lines[0], lines[0]


@pytest.mark.parametrize("command", ["score", "probe", "baseline", "eval"])
def test_a_missing_spec_is_exit_2_and_one_line(tmp_path, command):
    argv = [a if a != GSM8K else str(tmp_path / "nope.toml") for a in commands(TRAIN, tmp_path)[command]]
    code, _, err = run_cli(argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "nope.toml" in lines[0], err
