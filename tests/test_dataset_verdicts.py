"""`rft validate-data` and `cdk synth` give the same verdict on every file, training and validation alike.

Both call `reward.dataset.validate_dataset_file(path, role=...)`; the rule on row counts is decided there
once (AWS requires 100 training records; for validation data it sets no minimum, so fewer than 100 is a
warning). These tests run the two front ends on the same files and compare what they say.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from app import cdk_json_context
from rft.cli import main
from stacks.config import PROJECT_ROOT, ConfigError, load_config

SAMPLE = PROJECT_ROOT / "data" / "sample"


def sample_rows(n: int) -> list[str]:
    lines = (SAMPLE / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return lines[:n]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def cli_verdict(path: Path, role: str) -> tuple[bool, list[str], list[str]]:
    """validate-data's verdict: ok, error codes, warning codes."""
    out = io.StringIO()
    status = main(["validate-data", "--json", "--role", role, str(path)], out=out, err=io.StringIO())
    report = json.loads(out.getvalue())
    assert status == (0 if report["ok"] else 1)
    return (
        report["ok"],
        sorted(e["code"] for e in report["errors"]),
        sorted(w["code"] for w in report["warnings"]),
    )


def synth_verdict(
    path: Path, key: str, spec: str | None = None, other: dict[str, str] | None = None
) -> tuple[bool, int, int]:
    """The synth-time check's verdict on `key`: ok, how many errors it reports, how many warnings.
    ``spec`` is the reward spec synthesized with it (default: cdk.json's, which fits the sample data) and
    ``other`` more context (the other dataset of the same task: synth checks the spec against both)."""
    context = {**cdk_json_context(), **(other or {}), key: str(path)}
    if spec is not None:
        context["reward_spec"] = spec
    try:
        config = load_config(cdk.App(context=context).node)
    except ConfigError as error:
        (problem,) = [p for p in error.problems if f"Invalid dataset for {key!r}" in p]
        errors = int(problem.split(": ", 2)[1].split(" error")[0])
        return False, errors, 0
    return True, 0, len([w for w in config.warnings if w.key == key])


CASES: dict[str, list[str]] = {
    "thirty_rows": sample_rows(30),
    "one_row": sample_rows(1),
    "ninety_nine_rows": sample_rows(99),
    "hundred_rows": sample_rows(100),
    "broken_json_line": [*sample_rows(120)[:50], "{not json", *sample_rows(120)[50:]],
    "missing_reference": [
        json.dumps({k: v for k, v in json.loads(sample_rows(1)[0]).items() if k != "reference_answer"}),
        *sample_rows(101)[1:],
    ],
    "empty": [],
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(("role", "key"), [("training", "training_data"), ("validation", "validation_data")])
def test_validate_data_and_synth_agree(tmp_path: Path, case: str, role: str, key: str) -> None:
    """Same file, same role: both accept or both reject it, with the same number of findings."""
    path = write(tmp_path, f"{case}.jsonl", CASES[case])
    ok, errors, warnings = cli_verdict(path, role)
    synth_ok, synth_errors, synth_warnings = synth_verdict(path, key)
    assert (ok, len(errors)) == (synth_ok, synth_errors), (errors, warnings)
    if ok:
        assert len(warnings) == synth_warnings, warnings


def test_a_thirty_row_validation_file_passes_both_with_one_warning(tmp_path: Path) -> None:
    """The issue's case: validate-data rejected what synth accepted. Now both accept it and say why to care."""
    path = write(tmp_path, "validation.jsonl", sample_rows(30))
    assert cli_verdict(path, "validation") == (True, [], ["small-validation-set"])
    assert synth_verdict(path, "validation_data") == (True, 0, 1)
    # Without --role, the file's name says what it is.
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate-data", str(path)], out=out, err=err) == 0
    assert "warning small-validation-set: 30 validation records" in out.getvalue()
    assert out.getvalue().rstrip().endswith("0 errors, 1 warning in 30 records (validation data)")


def test_the_same_thirty_rows_as_training_data_fail_both(tmp_path: Path) -> None:
    path = write(tmp_path, "train.jsonl", sample_rows(30))
    assert cli_verdict(path, "training") == (False, ["too-few-rows"], [])
    assert synth_verdict(path, "training_data")[0] is False
    out = io.StringIO()
    assert main(["validate-data", str(path)], out=out, err=io.StringIO()) == 1  # a training file by name
    assert "at least 100 are required" in out.getvalue()


DATA_KEYS = {"training_data": "train", "validation_data": "validation"}


def test_the_shipped_datasets_pass_both(tmp_path: Path) -> None:
    specs = {  # each shipped dataset with the shipped spec written for it (synth checks the pair)
        "sample": "gsm8k",
        "math": "math",
        "structured_json": "structured_json",
        "support": "support_rubric",
        "classify": "classify",
        "code": "code",
        "tool_calling": "tool_calling",
    }
    for folder, spec in specs.items():
        for name, role, key in (
            ("train.jsonl", "training", "training_data"),
            ("validation.jsonl", "validation", "validation_data"),
        ):
            path = PROJECT_ROOT / "data" / folder / name
            verdict: Any = cli_verdict(path, role)
            assert verdict[0] is True, (path, verdict)
            spec_path = str(PROJECT_ROOT / "reward_specs" / f"{spec}.toml")
            pair = {k: str(PROJECT_ROOT / "data" / folder / f"{n}.jsonl") for k, n in DATA_KEYS.items()}
            assert synth_verdict(path, key, spec_path, pair)[0] is True, path
