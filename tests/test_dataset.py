"""The dataset validator (reward.dataset): one bad file per rule, plus the reader and the report format."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from reward import dataset
from reward.dataset import (
    MAX_FINDINGS_PER_CODE,
    MAX_LINE_BYTES,
    RULES,
    DatasetReport,
    format_findings,
    iter_rows,
    iter_rows_from_lines,
    validate_dataset_file,
    validate_dataset_lines,
)

SYSTEM = {"role": "system", "content": "You are a math tutor."}
DROP = object()  # a field value meaning "remove this field"


def row(i: int, **changes: Any) -> dict[str, Any]:
    """A valid record, distinct per ``i``; ``changes`` replace fields (or remove them, with DROP)."""
    record: dict[str, Any] = {
        "messages": [SYSTEM, {"role": "user", "content": f"What is {i} + {i}? End with #### <answer>."}],
        "reference_answer": {"final_answer": str(2 * i)},
        "task_id": f"t-{i:05d}",
        "domain": "math",
    }
    for key, value in changes.items():
        if value is DROP:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def line(record: Any) -> bytes:
    return json.dumps(record).encode() + b"\n"


def good_lines(n: int = 100) -> list[bytes]:
    return [line(row(i)) for i in range(1, n + 1)]


def write(tmp_path: Path, lines: list[bytes], name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def with_bad(bad: bytes, at: int = 5, n: int = 101) -> list[bytes]:
    """``n`` good lines with line ``at`` (1-based) replaced by ``bad`` (still >= 100 records if blank)."""
    lines = good_lines(n)
    lines[at - 1] = bad if bad.endswith(b"\n") else bad + b"\n"
    return lines


def findings(report: DatasetReport) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in report.errors + report.warnings]


def messages(*items: Any) -> dict[str, Any]:
    return row(5, messages=list(items))


USER = {"role": "user", "content": "What is 5 + 5? End with #### <answer>."}
ASSISTANT = {"role": "assistant", "content": "10"}

# (code, the bad line 5 of an otherwise valid 100-line file). Line-level rules only; file-level below.
LINE_CASES: list[tuple[str, bytes]] = [
    ("not-utf8", b'{"messages": "caf\xe9"}'),
    ("bom", b"\xef\xbb\xbf" + line(row(5))),
    ("line-too-long", b'{"messages": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}'),
    ("blank-line", b"   \t"),
    ("invalid-json", b'{"messages": [}'),
    ("not-an-object", b"[1, 2, 3]"),
    ("id-not-string", line(row(5, id=17))),
    ("id-in-some-records", line(row(5, id="sample-005"))),
    ("missing-messages", line(row(5, messages=DROP))),
    ("messages-not-list", line(row(5, messages="What is 5 + 5?"))),
    ("message-not-object", line(messages(SYSTEM, "What is 5 + 5?", USER))),
    ("unknown-role", line(messages({"role": "human", "content": "What is 5 + 5?"}, USER))),
    ("missing-content", line(messages({"role": "user"}))),
    ("content-not-string", line(messages({"role": "user", "content": 17}))),
    ("content-parts", line(messages({"role": "user", "content": [{"type": "text", "text": "5+5?"}]}))),
    (
        "non-text-content",
        line(messages({"role": "user", "content": [{"type": "image", "source": {"bytes": "..."}}]})),
    ),
    ("empty-content", line(messages({"role": "user", "content": "  "}))),
    ("no-user-message", line(messages(SYSTEM))),
    ("system-not-first", line(messages(USER, SYSTEM))),
    ("multiple-system", line(messages(SYSTEM, SYSTEM, USER))),
    ("ends-with-assistant", line(messages(SYSTEM, USER, ASSISTANT))),
    ("multi-turn", line(messages(SYSTEM, USER, ASSISTANT, {"role": "user", "content": "And 6 + 6?"}))),
    ("multiple-user-messages", line(messages(SYSTEM, USER, {"role": "user", "content": "Be brief."}))),
    ("missing-reference-answer", line(row(5, reference_answer=DROP))),
    ("empty-reference-answer", line(row(5, reference_answer=" "))),
    ("reference-answer-type", line(row(5, reference_answer=10))),
    ("reference-too-large", line(row(5, reference_answer="\\boxed{" * 10_000))),
    ("nested-too-deep", line(row(5, domain=json.loads('{"x":' * 300 + "1" + "}" * 300)))),
    ("duplicate-prompt", line(row(2, task_id="t-unique"))),
    ("duplicate-task-id", line(row(5, task_id="t-00002"))),
    ("code-reference", line(row(5, reference_answer={"entry_point": "f", "tests": [{"args": [1]}]}))),
    (
        "code-solution",
        line(row(5, reference_answer={"tests": [{"stdin": "", "stdout": "1"}], "solution": "print(1"})),
    ),
    ("code-no-solution", line(row(5, reference_answer={"tests": [{"stdin": "", "stdout": "1"}]}))),
    (
        "code-opaque-asserts",
        line(row(5, reference_answer={"test_code": "assert f(1) == g(1)", "solution": "f = g = abs"})),
    ),
]
_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
LINE_CASES += [
    ("tools-in-some-records", line(row(5, tools=[_WEATHER_TOOL]))),
    ("expected-tool-undeclared", line(row(5, reference_answer={"tool_called": "get_weather"}))),
]
FILE_CASES = {"unreadable-file", "too-few-rows", "too-many-rows", "small-validation-set", "duplicate-id"}
# Rules on records that declare tools: a file testing them declares tools in every record, so they are
# tested, each on its line with the tool and argument named, in tests/test_tool_calls.py.
TOOL_RECORD_CASES = {
    "tools-not-list",
    "tool-definition",
    "tool-schema",
    "duplicate-tool-name",
    "expected-call",
    "expected-arguments",
}


def test_every_rule_has_a_bad_file_test() -> None:
    """A rule added to RULES without a test here fails this test."""
    assert {code for code, _ in LINE_CASES} | FILE_CASES | TOOL_RECORD_CASES == set(RULES)


@pytest.mark.parametrize(("code", "bad"), LINE_CASES, ids=[code for code, _ in LINE_CASES])
def test_each_rule_is_reported_on_its_line(tmp_path: Path, code: str, bad: bytes) -> None:
    report = validate_dataset_file(write(tmp_path, with_bad(bad, at=5)))
    assert findings(report) == [(5, code)], format_findings(report, "data.jsonl")
    finding = (report.errors + report.warnings)[0]
    assert finding.message and finding.hint
    assert report.ok == (RULES[code].severity == "warning")


def test_a_good_file_passes(tmp_path: Path) -> None:
    report = validate_dataset_file(write(tmp_path, good_lines(100)))
    assert report.ok and report.errors == () and report.warnings == ()
    assert report.rows == 100


def test_too_few_rows_is_a_whole_file_error(tmp_path: Path) -> None:
    report = validate_dataset_file(write(tmp_path, good_lines(99)))
    assert findings(report) == [(0, "too-few-rows")]
    assert "99" in report.errors[0].message


def test_a_small_validation_file_is_a_warning_not_an_error(tmp_path: Path) -> None:
    """AWS requires 100 training records; for validation data it sets no minimum (100 is advice)."""
    path = write(tmp_path, good_lines(30))
    report = validate_dataset_file(path, role="validation")
    assert report.ok and report.role == "validation"
    assert findings(report) == [(0, "small-validation-set")]
    assert "30 validation records" in report.warnings[0].message
    assert report.as_dict()["role"] == "validation"
    assert format_findings(report, "val.jsonl").endswith(
        "0 errors, 1 warning in 30 records (validation data)"
    )
    # the same file as training data is an error
    assert findings(validate_dataset_file(path)) == [(0, "too-few-rows")]


def test_validation_file_rules_at_the_edges(tmp_path: Path) -> None:
    assert findings(validate_dataset_file(write(tmp_path, []), role="validation")) == [(0, "too-few-rows")]
    one = validate_dataset_file(write(tmp_path, good_lines(1)), role="validation")
    assert one.ok and findings(one) == [(0, "small-validation-set")]
    hundred = validate_dataset_file(write(tmp_path, good_lines(100)), role="validation")
    assert hundred.ok and findings(hundred) == []
    with pytest.raises(ValueError, match="role must be one of training, validation"):
        validate_dataset_file(write(tmp_path, good_lines(1)), role="test")


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("validation.jsonl", "validation"),
        ("val_30.jsonl", "validation"),
        ("gsm8k-eval.jsonl", "validation"),
        ("dev.jsonl", "validation"),
        ("my.test.jsonl", "validation"),
        ("train.jsonl", "training"),
        ("interval.jsonl", "training"),  # a word, not a substring
        ("data.jsonl", "training"),
    ],
)
def test_guess_role_reads_the_file_name(name: str, role: str) -> None:
    assert dataset.guess_role(Path("some/dir") / name) == role


def test_too_many_rows_is_a_whole_file_error(tmp_path: Path) -> None:
    report = validate_dataset_file(write(tmp_path, good_lines(12)), min_rows=1, max_rows=10)
    assert findings(report) == [(0, "too-many-rows")]
    assert report.rows == 12


def test_an_unreadable_file_is_a_finding_not_an_exception(tmp_path: Path) -> None:
    report = validate_dataset_file(tmp_path / "missing.jsonl")
    assert findings(report) == [(0, "unreadable-file")]


def test_an_empty_file_has_too_few_rows(tmp_path: Path) -> None:
    report = validate_dataset_file(write(tmp_path, []))
    assert findings(report) == [(0, "too-few-rows")] and report.rows == 0


def test_invalid_json_names_the_column(tmp_path: Path) -> None:
    report = validate_dataset_file(write(tmp_path, with_bad(b'{"messages": [}', at=3)))
    assert "column 15" in report.errors[0].message


def test_non_utf8_names_the_byte() -> None:
    report = validate_dataset_lines(with_bad(b'{"messages": "caf\xe9"}', at=1))
    assert "0xE9" in report.errors[0].message and "byte column 18" in report.errors[0].message


def test_an_unpaired_surrogate_escape_is_not_unicode_but_a_pair_is_fine() -> None:
    lone = validate_dataset_lines(with_bad(line(messages({"role": "user", "content": "a\ud800"}))))
    assert findings(lone) == [(5, "not-utf8")] and "surrogate" in lone.errors[0].message
    pair = validate_dataset_lines(with_bad(line(messages({"role": "user", "content": "a\U0001f600"}))))
    assert pair.ok and pair.warnings == ()


def test_nan_is_not_json() -> None:
    report = validate_dataset_lines(with_bad(b'{"messages": [], "score": NaN}', at=2))
    assert (2, "invalid-json") in findings(report)


def test_a_bom_line_is_still_checked_after_the_bom() -> None:
    """One BOM error, not a cascade of invalid JSON: the rest of the line is validated normally."""
    report = validate_dataset_lines(with_bad(b"\xef\xbb\xbf" + line(row(1, id=1)), at=1))
    assert findings(report) == [(1, "bom"), (1, "id-not-string")]


def test_every_problem_on_a_line_is_reported() -> None:
    bad = line({"id": 1, "messages": [USER, SYSTEM, ASSISTANT], "reference_answer": ""})
    codes = [code for _, code in findings(validate_dataset_lines(with_bad(bad, at=7)))]
    assert codes == ["id-not-string", "system-not-first", "ends-with-assistant", "empty-reference-answer"]


def test_problems_on_many_lines_are_all_reported_in_order() -> None:
    lines = good_lines(101)
    lines[9] = b"{oops\n"
    lines[19] = line(row(20, reference_answer=DROP))
    lines[29] = b"\n"
    assert findings(validate_dataset_lines(lines)) == [
        (10, "invalid-json"),
        (20, "missing-reference-answer"),
        (30, "blank-line"),
    ]


def test_duplicate_prompt_names_the_first_line() -> None:
    report = validate_dataset_lines(with_bad(line(row(2, task_id="x")), at=50))
    assert report.warnings[0].line == 50 and "line 2" in report.warnings[0].message


def test_list_content_hint_says_to_join_text_blocks() -> None:
    bad = line(messages({"role": "user", "content": [{"type": "text", "text": "5+5?"}]}))
    assert "Join" in validate_dataset_lines(with_bad(bad)).warnings[0].hint


def test_tool_calls_are_non_text() -> None:
    bad = line(messages(USER, {"role": "assistant", "content": None, "tool_calls": []}))
    codes = {code for _, code in findings(validate_dataset_lines(with_bad(bad)))}
    assert "non-text-content" in codes


def test_capitalised_role_hint_suggests_lowercase() -> None:
    bad = line(messages({"role": "User", "content": "5+5?"}))
    report = validate_dataset_lines(with_bad(bad))
    assert report.errors[0].code == "unknown-role" and '"user"' in report.errors[0].hint


def test_prompt_completion_format_gets_a_specific_hint() -> None:
    bad = line({"prompt": "5+5?", "completion": "10", "reference_answer": "10"})
    report = validate_dataset_lines(with_bad(bad))
    assert report.errors[0].code == "missing-messages" and "prompt/completion" in report.errors[0].hint


def test_reference_answer_in_metadata_gets_a_move_hint() -> None:
    bad = line(row(5, reference_answer=DROP, metadata={"reference_answer": "10"}))
    report = validate_dataset_lines(with_bad(bad))
    assert "top level" in report.warnings[0].hint


@pytest.mark.parametrize("reference", [None, "", {}, []])
def test_empty_reference_answers(reference: Any) -> None:
    report = validate_dataset_lines(with_bad(line(row(5, reference_answer=reference))))
    assert findings(report) == [(5, "empty-reference-answer")]


@pytest.mark.parametrize("reference", ["10", {"final_answer": "10"}, {"answer": 10, "unit": "cm"}])
def test_string_and_object_reference_answers_are_valid(reference: Any) -> None:
    assert validate_dataset_lines(with_bad(line(row(5, reference_answer=reference)))).ok


def test_a_user_only_prompt_without_system_is_valid() -> None:
    assert validate_dataset_lines(with_bad(line(messages(USER)))).errors == ()


def test_crlf_line_endings_and_a_missing_final_newline_are_fine(tmp_path: Path) -> None:
    lines = [chunk.replace(b"\n", b"\r\n") for chunk in good_lines(100)]
    lines[-1] = lines[-1].rstrip(b"\r\n")
    report = validate_dataset_file(write(tmp_path, lines))
    assert report.ok and report.warnings == () and report.rows == 100


def test_findings_are_capped_per_code_and_the_rest_counted(tmp_path: Path) -> None:
    path = write(tmp_path, [b"garbage\n"] * 5000)
    report = validate_dataset_file(path)
    assert len(report.errors) == MAX_FINDINGS_PER_CODE
    assert report.suppressed == {"invalid-json": 5000 - MAX_FINDINGS_PER_CODE}
    assert report.error_count == 5000 and report.rows == 5000
    text = format_findings(report, path)
    assert "4,950 more error invalid-json" in text
    assert len(text.splitlines()) == MAX_FINDINGS_PER_CODE + 2


def test_an_oversize_line_is_skipped_without_being_kept_in_memory(tmp_path: Path) -> None:
    """A 3 MiB line without any newline is reported with its size, and the next line still validates."""
    lines = with_bad(b"x" * (3 * MAX_LINE_BYTES), at=1)
    report = validate_dataset_file(write(tmp_path, lines))
    assert findings(report) == [(1, "line-too-long")]
    assert f"{3 * MAX_LINE_BYTES:,} bytes" in report.errors[0].message


def test_a_line_exactly_at_the_limit_is_allowed(tmp_path: Path) -> None:
    record = row(5)
    record["domain"] = ""
    base = len(json.dumps(record))
    record["domain"] = "x" * (MAX_LINE_BYTES - base)
    exact = line(record)
    assert len(exact) == MAX_LINE_BYTES + 1  # + newline
    assert validate_dataset_file(write(tmp_path, with_bad(exact))).ok


def test_format_findings_is_compiler_style(tmp_path: Path) -> None:
    path = write(tmp_path, with_bad(b"{oops", at=3))
    text = format_findings(validate_dataset_file(path), path)
    first, summary = text.splitlines()
    assert first.startswith(f"{path}:3: error invalid-json: invalid JSON at column 2: ")
    assert " — " in first
    assert summary == f"{path}: 1 error, 0 warnings in 101 records"


def test_as_dict_is_json_ready() -> None:
    report = validate_dataset_lines(with_bad(b"{oops", at=3))
    data = json.loads(json.dumps(report.as_dict()))
    assert (
        data["ok"] is False and data["errors"][0]["line"] == 3 and data["errors"][0]["code"] == "invalid-json"
    )


def test_in_memory_and_file_validation_agree(tmp_path: Path) -> None:
    lines = with_bad(b"{oops", at=3)
    lines[10] = line(row(11, id=3))
    from_file = validate_dataset_file(write(tmp_path, lines))
    assert from_file == validate_dataset_lines(io.BytesIO(b"".join(lines)))
    assert from_file == validate_dataset_lines([chunk.decode() for chunk in lines])


def test_iter_rows_yields_only_valid_records_with_line_numbers(tmp_path: Path) -> None:
    lines = good_lines(100)
    lines[0] = b"\xef\xbb\xbf" + lines[0]  # a BOM is an error: row skipped
    lines[1] = b"\n"
    lines[2] = line(row(3, reference_answer=DROP))  # a warning only: row kept
    lines[3] = line(messages(SYSTEM, USER, ASSISTANT))  # an error: row skipped
    lines[4] = lines[5]  # a duplicate is a warning: kept
    path = write(tmp_path, lines)
    numbers = [number for number, _ in iter_rows(path)]
    assert numbers == [3, *range(5, 101)]
    first = next(iter(iter_rows(path)))[1]
    assert first["task_id"] == "t-00003"
    assert [n for n, _ in iter_rows_from_lines(io.BytesIO(b"".join(lines)))] == numbers


def test_the_rules_table_lists_every_rule() -> None:
    table = dataset.rules_markdown_table()
    for code in RULES:
        assert f"| `{code}` |" in table


def test_import_pulls_in_nothing_heavy() -> None:
    """The validator runs at synth time and in the Lambda: importing it must stay cheap."""
    import subprocess
    import sys

    code = "import sys, reward.dataset; print(','.join(m for m in ('boto3','jsonschema','sympy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_twenty_thousand_rows_the_service_maximum_validate(tmp_path: Path) -> None:
    """Speed is measured by benchmarks/bench_dataset.py; here only the verdict on the largest valid file."""
    path = write(tmp_path, good_lines(20_000))
    report = validate_dataset_file(path)
    assert report.ok and report.rows == 20_000


# ---------------------------------------------------------------- the dataset `id` and text parts (AWS's shapes)

AWS_EXAMPLE = {  # the shape of Bedrock's Nova RFT example records ("id": "sample-001")
    "id": "sample-001",
    "messages": [
        {"role": "system", "content": "You are a helpful math tutor."},
        {"role": "user", "content": "What is 12 * 7? End with #### <answer>."},
    ],
    "reference_answer": {"final_answer": "84"},
}


def aws_records(n: int = 100, **change: Any) -> list[bytes]:
    out = []
    for i in range(n):
        record = json.loads(json.dumps(AWS_EXAMPLE))
        record["id"] = f"sample-{i:03d}"
        record["messages"][1]["content"] = f"What is 12 * {i}? End with #### <answer>."
        record["reference_answer"] = {"final_answer": str(12 * i)}
        record.update(change)
        out.append(line(record))
    return out


def test_aws_example_records_with_an_id_pass_with_no_finding() -> None:
    assert findings(validate_dataset_lines(aws_records())) == []


def test_a_duplicate_id_is_an_error_naming_both_lines() -> None:
    lines = aws_records()
    lines[9] = lines[9].replace(b'"sample-009"', b'"sample-003"')
    report = validate_dataset_lines(lines)
    assert findings(report) == [(10, "duplicate-id")]
    assert "line 4" in report.errors[0].message


def test_an_id_in_some_records_only_is_one_error_on_the_first_record_without() -> None:
    lines = aws_records()
    for k in (6, 8):
        record = json.loads(lines[k])
        del record["id"]
        lines[k] = line(record)
    report = validate_dataset_lines(lines)
    assert findings(report) == [(7, "id-in-some-records")]


@pytest.mark.parametrize("part", [{"type": "text", "text": "What is 12 * 7?"}, {"text": "What is 12 * 7?"}])
def test_text_parts_are_a_warning_that_says_how_to_join_them(part: dict[str, Any]) -> None:
    record = row(
        3, messages=[{"role": "user", "content": [part, {"type": "text", "text": " End with #### n."}]}]
    )
    report = validate_dataset_lines(with_bad(line(record), at=3))
    assert findings(report) == [(3, "content-parts")] and not report.errors
    assert "join" in RULES["content-parts"].fix.lower()


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image", "source": {"bytes": "..."}},
        {"image": {"format": "png", "source": {"bytes": "..."}}},
        {"document": {"name": "d", "source": {"bytes": "..."}}},
        {"type": "input_audio", "input_audio": {"data": "..."}},
        {"video": {"format": "mp4"}},
    ],
)
def test_non_text_parts_are_still_an_error(part: dict[str, Any]) -> None:
    record = row(
        3, messages=[{"role": "user", "content": [{"type": "text", "text": "Describe this."}, part]}]
    )
    assert (3, "non-text-content") in findings(validate_dataset_lines(with_bad(line(record), at=3)))
