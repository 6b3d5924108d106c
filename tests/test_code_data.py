"""data/code: deterministic, valid, mixed formats, and every reference solution passes its own tests in the
sandbox; the dataset validator checks the three code reference formats."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from code_runner import run_batch
from reward import dataset
from reward.code_tasks import job_for, read_task

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "code"
FILES = ("train.jsonl", "validation.jsonl")


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_the_generator_is_deterministic(tmp_path):
    subprocess.run(
        [sys.executable, str(DATA / "generate.py"), "--out", str(tmp_path)], check=True, capture_output=True
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"{name} is stale: rerun the generator"
        )


@pytest.mark.parametrize("name", FILES)
def test_files_are_valid_with_enough_rows_of_every_format(name):
    report = dataset.validate_dataset_file(DATA / name)
    assert report.ok and not report.warnings and report.rows >= 100, (report.errors[:3], report.warnings[:3])
    formats = Counter(read_task(r["reference_answer"])[0].format for r in rows(name))
    assert set(formats) == {"function", "program", "assert"} and min(formats.values()) >= 20, formats


def test_prompts_show_fewer_tests_than_are_checked():
    """Hard-coding the examples in the prompt must not pass: every task has hidden tests."""
    for row in rows("train.jsonl"):
        task, _ = read_task(row["reference_answer"])
        n = len(task.tests) if task.tests else task.test_code.count("assert ")
        assert n >= 5, row["task_id"]


def test_every_reference_solution_passes_its_own_tests():
    jobs = []
    for name in FILES:
        for row in rows(name):
            task, problem = read_task(row["reference_answer"])
            assert task is not None and task.solution, (row["task_id"], problem)
            jobs.append(
                job_for(
                    task,
                    f"{name}:{row['task_id']}",
                    task.solution,
                    {"test_timeout_s": 10.0, "sample_timeout_s": 60.0},
                )
            )
    failing = [
        (r["id"], r["reason"])
        for r in run_batch({"version": 1, "jobs": jobs})["results"]
        if r["status"] != "ok" or r["passed"] != r["total"]
    ]
    assert not failing, failing[:5]


# --- the validator on code references --------------------------------------------------------------


def record(reference) -> str:
    prompt = f"write code {json.dumps(reference)}"
    return json.dumps({"messages": [{"role": "user", "content": prompt}], "reference_answer": reference})


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ({"entry_point": "f", "tests": [{"args": [1]}], "solution": "def f(x): return x"}, "code-reference"),
        ({"entry_point": "f", "tests": [], "solution": "def f(x): return x"}, "code-reference"),
        ({"tests": [{"stdin": "1"}], "solution": "print(1)"}, "code-reference"),
        ({"entry_point": "f", "tests": [{"args": [1], "expected": 1, "output": 2}]}, "code-reference"),
        ({"test_code": "f(1) == 2", "solution": "def f(x): return 2"}, "code-reference"),
        ({"test_code": "assert f(1 == 2", "solution": "def f(x): return 2"}, "code-reference"),
        (
            {"entry_point": "f", "tests": [{"args": [1], "expected": 1}], "solution": "def g(x): return x"},
            "code-solution",
        ),
        ({"tests": [{"stdin": "1", "stdout": "1"}], "solution": "print(1"}, "code-solution"),
        ({"tests": [{"stdin": "1", "stdout": "1"}]}, "code-no-solution"),
        (
            {"test_code": "assert f(1) == g(2)", "solution": "def f(x): return 2\ndef g(x): return 2"},
            "code-opaque-asserts",
        ),
    ],
)
def test_bad_code_references_are_named(reference, code):
    report = dataset.validate_dataset_lines([record(reference)], min_rows=1)
    found = [f.code for f in (*report.errors, *report.warnings)]
    assert code in found, found
    finding = next(f for f in (*report.errors, *report.warnings) if f.code == code)
    assert finding.line == 1 and finding.hint


def test_good_code_references_pass():
    good = [
        {
            "entry_point": "f",
            "tests": [{"args": [1], "kwargs": {}, "expected": 2}],
            "solution": "def f(x): return 2 * x",
        },
        {"tests": [{"stdin": "1\n", "stdout": "2\n"}], "solution": "print(2 * int(input()))"},
        {"test_code": "assert f(1) == 2\n", "solution": "def f(x): return 2 * x"},
    ]
    report = dataset.validate_dataset_lines([record(r) for r in good], min_rows=1)
    assert report.ok and not report.warnings, (report.errors, report.warnings)


def test_validate_data_cli_reports_a_code_problem(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(record({"entry_point": "f", "tests": [{"args": [1]}]}) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "rft.cli", "validate-data", "--min-rows", "1", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1 and "code-reference" in done.stdout and "bad.jsonl:1" in done.stdout
