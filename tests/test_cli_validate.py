"""`rft validate-data`: the one dataset validator from the command line — verdicts, exit codes, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rft.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
GOOD = {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"}],
    "reference_answer": {"final_answer": "4"},
}


def write(tmp_path: Path, lines: list[str | dict], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines), encoding="utf-8"
    )
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sample_datasets_are_valid(capsys):
    code, out, _ = run(capsys, "validate-data", str(SAMPLE / "train.jsonl"), str(SAMPLE / "validation.jsonl"))
    assert code == 0
    assert "train.jsonl: 0 errors, 0 warnings in 250 records" in out
    assert "validation.jsonl: 0 errors, 0 warnings in 120 records" in out


@pytest.mark.parametrize(
    ("bad_line", "code"),
    [
        ('{"messages": [', "invalid-json"),
        ({**GOOD, "id": 17}, "id-not-string"),
        ({**GOOD, "messages": [GOOD["messages"][1], GOOD["messages"][0]]}, "system-not-first"),
        (
            {**GOOD, "messages": [*GOOD["messages"], {"role": "assistant", "content": "4"}]},
            "ends-with-assistant",
        ),
        ({**GOOD, "messages": [{"role": "system", "content": "Be brief."}]}, "no-user-message"),
        ({**GOOD, "reference_answer": ""}, "empty-reference-answer"),
    ],
)
def test_a_bad_record_is_an_error_on_its_line(tmp_path, capsys, bad_line, code):
    path = write(tmp_path, [GOOD, bad_line, {**GOOD, "messages": [{"role": "user", "content": "3 + 3?"}]}])
    status, out, _ = run(capsys, "validate-data", "--min-rows", "1", str(path))
    assert status == 1
    assert f"{path}:2: error {code}:" in out
    assert "1 error," in out.splitlines()[-1]


def test_warnings_do_not_fail(tmp_path, capsys):
    no_reference = {"messages": GOOD["messages"]}
    path = write(tmp_path, [GOOD, no_reference])
    status, out, _ = run(capsys, "validate-data", "--min-rows", "1", str(path))
    assert status == 0
    assert f"{path}:2: warning missing-reference-answer" in out
    assert f"{path}:2: warning duplicate-prompt" in out


def test_row_limits_apply(tmp_path, capsys):
    path = write(tmp_path, [GOOD])
    status, out, _ = run(capsys, "validate-data", str(path))
    assert status == 1 and "too-few-rows" in out  # Bedrock's minimum of 100 is the default
    status, out, _ = run(capsys, "validate-data", "--min-rows", "0", "--max-rows", "0", str(path))
    assert status == 1 and "too-many-rows" in out


def test_json_output_is_one_report_per_file(tmp_path, capsys):
    bad = write(tmp_path, ["\ufeff" + json.dumps(GOOD), "not json"], "bad.jsonl")
    status, out, _ = run(
        capsys, "validate-data", "--json", "--min-rows", "1", str(SAMPLE / "train.jsonl"), str(bad)
    )
    assert status == 1
    reports = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in reports] == [str(SAMPLE / "train.jsonl"), str(bad)]
    assert reports[0]["ok"] is True and reports[0]["rows"] == 250
    assert reports[1]["ok"] is False
    assert {(e["line"], e["code"]) for e in reports[1]["errors"]} == {(1, "bom"), (2, "invalid-json")}


def test_missing_file_is_an_error_not_a_crash(tmp_path, capsys):
    status, out, _ = run(capsys, "validate-data", str(tmp_path / "nope.jsonl"))
    assert status == 1 and "unreadable-file" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["validate-data"],
        ["validate-data", "--min-rows", "x", "f"],
        ["validate-data", "--min-rows", "5", "--max-rows", "2", "f"],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "usage:" in err or "--min-rows" in err


def test_help_names_every_command(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("validate-data", "score", "probe", "invoke", "status"):
        assert command in out
