"""The embedded sample dataset (data/sample): valid, reproducible, and its answers are right."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reward.dataset import validate_dataset_file

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILES = ("train.jsonl", "validation.jsonl")


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    """data/sample/generate.py, imported by path (data/ is not a package)."""
    spec = importlib.util.spec_from_file_location("sample_generate", SAMPLE / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(name: str) -> list[dict[str, Any]]:
    return [json.loads(text) for text in (SAMPLE / name).read_text(encoding="utf-8").splitlines()]


def problem(record: dict[str, Any]) -> str:
    return record["messages"][-1]["content"]


@pytest.mark.parametrize("name", FILES)
def test_committed_files_validate_with_no_errors_and_no_warnings(name: str) -> None:
    report = validate_dataset_file(SAMPLE / name)
    assert report.errors == () and report.warnings == (), report


def test_row_counts() -> None:
    """The sample data has at least 200 training and 100 validation rows."""
    assert len(read("train.jsonl")) == 250
    assert len(read("validation.jsonl")) == 120


def test_generator_rewrites_both_files_byte_identically(generate: ModuleType, tmp_path: Path) -> None:
    assert generate.main(["--out", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), f"{name} is stale"


def test_check_mode_flags_a_stale_file(generate: ModuleType, tmp_path: Path) -> None:
    generate.main(["--out", str(tmp_path)])
    assert generate.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "train.jsonl").write_bytes(b"{}\n")
    assert generate.main(["--out", str(tmp_path), "--check"]) == 1


def test_task_ids_are_distinct_and_follow_the_pattern() -> None:
    ids = [r["task_id"] for name in FILES for r in read(name)]
    assert len(set(ids)) == len(ids) == 370
    assert ids[0] == "gsm-sample-train-0001" and ids[-1] == "gsm-sample-validation-0120"


def test_no_duplicate_prompts_and_no_train_validation_overlap() -> None:
    train = [problem(r) for r in read("train.jsonl")]
    validation = [problem(r) for r in read("validation.jsonl")]
    assert len(set(train)) == len(train)
    assert len(set(validation)) == len(validation)
    assert not set(train) & set(validation)


def test_every_row_has_the_nova_shape_and_asks_for_the_gsm8k_answer_line() -> None:
    for name in FILES:
        for record in read(name):
            assert list(record) == ["messages", "reference_answer", "task_id", "domain"]
            assert [m["role"] for m in record["messages"]] == ["system", "user"]
            assert problem(record).endswith("give the final answer on the last line as: #### <answer>")
            assert record["domain"] == "math"


def test_reference_answers_are_plain_numbers() -> None:
    """Integers or short decimals (no $, commas or trailing zeros), so graders compare them exactly."""
    answers = [r["reference_answer"]["final_answer"] for name in FILES for r in read(name)]
    for answer in answers:
        assert re.fullmatch(r"\d+(\.\d*[1-9])?", answer), answer
        Decimal(answer)
    decimals = [a for a in answers if "." in a]
    assert 0.1 * len(answers) < len(decimals) < 0.5 * len(answers)  # some money answers like 2.5


# Independent re-computation: each template's numbers, read back from the text in order, and its formula.
# (The generator computes answers from the values it draws; this reads only the problem text.)
Formula = Callable[[list[Fraction]], Fraction]
FORMULAS: dict[str, Formula] = {
    "How much change": lambda n: n[2] - n[0] * n[1],
    "kilometers does it travel": lambda n: n[0] * n[1] + n[2] * n[3],
    "times as old as": lambda n: n[0] * n[1] + n[2],
    "shares the rest equally": lambda n: (n[0] - n[1]) / n[2],
    "per hour. ": lambda n: n[0] * n[1] * n[2],
    "saves $": lambda n: n[0] * n[1] - n[2],
    "% off": lambda n: n[0] * (100 - n[1]) / 100,
    "bags does": lambda n: n[0] * n[1] * n[2] / n[3],
    "average score": lambda n: sum(n[:4]) / 4,
    "At the same price each": lambda n: n[1] / n[0] * n[2],
    "liters per minute": lambda n: n[0] / n[1],
    "still have to read": lambda n: n[0] - n[1] * n[2],
    "passengers are still on the bus": lambda n: (n[0] - n[1] + n[2]) / 2,
    "A fruit stand": lambda n: n[2] * n[0] + n[3] * n[1],
}


def test_every_template_is_covered_by_a_formula(generate: ModuleType) -> None:
    texts = [problem(r) for name in FILES for r in read(name)]
    assert len(generate.TEMPLATES) == len(FORMULAS)
    for key in FORMULAS:
        assert sum(key in t for t in texts) >= 10, f"template {key!r} is rare or missing"


@pytest.mark.parametrize("name", FILES)
def test_answers_are_correct(name: str) -> None:
    for record in read(name):
        text = problem(record)
        matches = [key for key in FORMULAS if key in text]
        assert len(matches) == 1, f"{record['task_id']}: no single template matches {text!r}"
        numbers = [Fraction(n) for n in re.findall(r"\d+(?:\.\d+)?", text)]
        expected = FORMULAS[matches[0]](numbers)
        assert Fraction(record["reference_answer"]["final_answer"]) == expected, record["task_id"]
        assert expected > 0, record["task_id"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(18), "18"), (Fraction(5, 2), "2.5"), (Fraction(51, 4), "12.75"), (Fraction(1, 20), "0.05")],
)
def test_format_answer(generate: ModuleType, value: Fraction, text: str) -> None:
    assert generate.format_answer(value) == text


def test_format_answer_refuses_a_repeating_decimal(generate: ModuleType) -> None:
    with pytest.raises(ValueError):
        generate.format_answer(Fraction(1, 3))
