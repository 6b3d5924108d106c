"""The one dataset validator for Nova RFT training and validation files (docs/contract.md §2).

The CDK data stack runs it at synth time, ``rft validate-data`` runs it from the command line, and the
job starter and ``rft score`` read rows through :func:`iter_rows` — so every tool agrees on what a valid
dataset is. Pure standard library; importing it costs nothing.

A dataset is JSON Lines: one object per line, e.g.::

    {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}],
     "reference_answer": {"final_answer": "16"}, "task_id": "gsm8k_train_0", "domain": "math"}

Every problem is reported (not only the first), each as a :class:`Finding` with the line it is on, a
stable code from :data:`RULES`, a message naming the problem and a hint saying how to fix it. The file is
read as a stream, one bounded line at a time, so a huge or garbage file costs bounded memory, and at
most :data:`MAX_FINDINGS_PER_CODE` findings are kept per code (the rest are counted).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MAX_ROWS",
    "MAX_FINDINGS_PER_CODE",
    "MAX_LINE_BYTES",
    "MAX_NESTING",
    "MAX_REFERENCE_CHARS",
    "ROLES",
    "RULES",
    "TRAINING_MIN_ROWS",
    "VALIDATION_MIN_ROWS",
    "VALIDATION_RECOMMENDED_ROWS",
    "DatasetReport",
    "Finding",
    "Rule",
    "format_findings",
    "guess_role",
    "iter_rows",
    "iter_rows_from_lines",
    "rules_markdown_table",
    "validate_dataset_file",
    "validate_dataset_lines",
]

# How many records a file needs depends on its role, and this is the one place that says so (the data
# stack at synth time and `rft validate-data` both ask `validate_dataset_file(path, role=...)`):
# - training: AWS *requires* at least 100 records ("A minimum of 100 records in training dataset",
#   Bedrock user guide, "Prepare data for Amazon Nova models"): fewer is an error;
# - validation: AWS states no minimum for the optional validation file; 100 is only the number its
#   guidance recommends, so fewer records is a warning (the validation reward of a few prompts is noisy),
#   and only an empty file is an error.
TRAINING_MIN_ROWS = 100
VALIDATION_MIN_ROWS = 1
VALIDATION_RECOMMENDED_ROWS = 100
DEFAULT_MAX_ROWS = 20_000  # Bedrock RFT takes at most 20,000 prompts
#: The roles a dataset file plays in a job (``trainingDataConfig`` / ``validationDataConfig``).
ROLES = ("training", "validation")
_MIN_ROWS = {"training": TRAINING_MIN_ROWS, "validation": VALIDATION_MIN_ROWS}
# AWS documents no per-line limit. 1 MiB is far beyond any prompt Nova accepts (maxPromptLength is in
# tokens; a 1 MiB line is ~250k tokens), so a longer line is a broken file (a missing newline, an
# embedded blob), and capping it keeps memory bounded while streaming.
MAX_LINE_BYTES = 1 << 20
MAX_FINDINGS_PER_CODE = 50  # beyond this, findings of one code are only counted
# A reference answer is what every response is compared with, in every sample of its prompt: graders are
# linear in it, but some (similarity, the judge's prompt) are linear in response x reference. 32 KiB of
# text is far more than any final answer, rubric or JSON object to reproduce; more is a pasted document.
MAX_REFERENCE_CHARS = 32_768
# JSON nested this deep is never a prompt or an answer; past it, the reward Lambda cannot copy the sample
# to its worker processes (pickle recurses) and most tools recurse too (docs/time-limits.md).
MAX_NESTING = 64
# Duplicate detection remembers an 8-byte digest per prompt and task_id. Past this many rows (10x the
# service's maximum) the file fails the row limit anyway, so we stop remembering rather than let a
# huge file grow memory without bound.
_DEDUP_ROW_LIMIT = 200_000
_ROLES = ("system", "user", "assistant")
# Message keys that carry something other than text (OpenAI/Bedrock chat shapes); RFT is text-only.
_NON_TEXT_MESSAGE_KEYS = ("tool_calls", "function_call", "image", "image_url", "audio")
_BOM = b"\xef\xbb\xbf"

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One validation rule: its stable code, severity, what it means and how to fix it."""

    code: str
    severity: str  # "error" (the service would reject the file or train on garbage) or "warning"
    meaning: str
    fix: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.code: rule for rule in rules}


#: Every rule the validator applies, keyed by code. Codes are stable: tools and tests match on them.
RULES: Mapping[str, Rule] = _rules(
    Rule(
        "unreadable-file",
        ERROR,
        "The file cannot be opened or read.",
        "Check the path and the file's permissions.",
    ),
    Rule(
        "not-utf8",
        ERROR,
        "The line is not valid UTF-8 (or a \\u escape leaves half of a surrogate pair).",
        "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.jsonl > out.jsonl`).",
    ),
    Rule(
        "bom",
        ERROR,
        "The line starts with a UTF-8 byte-order mark, which is not valid JSON.",
        "Save the file as UTF-8 without BOM (e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`).",
    ),
    Rule(
        "line-too-long",
        ERROR,
        f"The line is longer than {MAX_LINE_BYTES:,} bytes.",
        "Put one record per line and keep prompts short; a line this long is usually a missing newline.",
    ),
    Rule(
        "blank-line",
        WARNING,
        "The line is empty or only whitespace.",
        "Delete blank lines: JSONL has exactly one JSON object per line.",
    ),
    Rule(
        "invalid-json",
        ERROR,
        "The line is not valid JSON.",
        "Fix the JSON at the column shown; each line must be one complete JSON object.",
    ),
    Rule(
        "not-an-object",
        ERROR,
        "The line is valid JSON but not a JSON object.",
        'Make each line an object like {"messages": [...], "reference_answer": ...}.',
    ),
    # A dataset `id` is documented by AWS as optional ("unique identifier for tracking"; Bedrock's Nova RFT
    # example records carry "id": "sample-001"). It reaches the reward in `metadata`; the event element's
    # top-level `id` stays the service's own sample id (docs/dataset-format.md).
    Rule(
        "id-not-string",
        ERROR,
        "The record's `id` is not a non-empty string.",
        'Give each record a unique string id, e.g. "id": "sample-001" (or leave `id` out of every record).',
    ),
    Rule(
        "duplicate-id",
        ERROR,
        "The same `id` appears on an earlier line.",
        "Give every record a unique `id` (AWS uses it for tracking and deduplication).",
    ),
    Rule(
        "id-in-some-records",
        ERROR,
        "Some records have an `id` and others do not.",
        "Give every record an `id`, or none.",
    ),
    Rule(
        "missing-messages",
        ERROR,
        "The record has no `messages` field.",
        'Add "messages": [{"role": "user", "content": "..."}] with the prompt.',
    ),
    Rule(
        "messages-not-list",
        ERROR,
        "`messages` is not a list.",
        'Make `messages` a list of {"role": ..., "content": ...} objects.',
    ),
    Rule(
        "message-not-object",
        ERROR,
        "An item of `messages` is not an object.",
        'Make each message an object {"role": "user", "content": "..."}.',
    ),
    Rule(
        "unknown-role",
        ERROR,
        "A message's `role` is missing or not one of system, user, assistant.",
        'Use "system" (optional, first) or "user" (lowercase).',
    ),
    Rule(
        "missing-content",
        ERROR,
        "A message has no `content` (or it is null).",
        "Give every message a non-empty string `content`.",
    ),
    Rule(
        "content-not-string",
        ERROR,
        "A message's `content` is neither a string nor a list of text parts (e.g. a number or an object).",
        "Use a plain string.",
    ),
    Rule(
        "content-parts",
        WARNING,
        'A message\'s `content` is a list of text parts ({"type": "text", "text": ...} or {"text": ...}). '
        "The Nova Forge SDK's validator and AWS's RFT evaluation examples accept it; AWS's RFT data pages "
        "describe a plain string.",
        'Join the parts\' `text` into one string ("".join(part["text"] for part in content)) to match '
        "the documented format.",
    ),
    Rule(
        "non-text-content",
        ERROR,
        "A message carries non-text content (image, document, audio, tool call); RFT is text-only.",
        "Remove the non-text parts and keep the prompt as plain text.",
    ),
    Rule(
        "empty-content",
        ERROR,
        "A message's `content` is empty or only whitespace.",
        "Write the message text, or drop the message.",
    ),
    Rule(
        "no-user-message",
        ERROR,
        "`messages` has no user message.",
        'Add {"role": "user", "content": "<the task>"}: the prompt the model answers.',
    ),
    Rule(
        "system-not-first",
        ERROR,
        "The system message is not the first message.",
        "Move the system message to the start of `messages`.",
    ),
    Rule(
        "multiple-system",
        ERROR,
        "There is more than one system message.",
        "Merge the system messages into one, placed first.",
    ),
    Rule(
        "ends-with-assistant",
        ERROR,
        "The prompt ends with an assistant message; the model writes the assistant turn during training.",
        "Remove the trailing assistant message (put the expected answer in `reference_answer`).",
    ),
    Rule(
        "multi-turn",
        ERROR,
        "The prompt contains an assistant message before the last turn; RFT is single-turn.",
        "Keep one (optional) system message and the user prompt; fold earlier turns into the user text.",
    ),
    Rule(
        "multiple-user-messages",
        WARNING,
        "The prompt has several user messages in a row; RFT is single-turn.",
        "Merge them into one user message.",
    ),
    Rule(
        "missing-reference-answer",
        WARNING,
        "The record has no `reference_answer`; most graders need one (AWS's validator warns too).",
        'Add "reference_answer": "..." or an object such as {"final_answer": "18"}.',
    ),
    Rule(
        "empty-reference-answer",
        ERROR,
        "`reference_answer` is empty (null, blank string, {} or []).",
        "Fill in the expected answer, or remove the record.",
    ),
    Rule(
        "reference-answer-type",
        ERROR,
        "`reference_answer` is neither a string nor an object.",
        'Write it as a string ("18") or an object ({"final_answer": "18"}).',
    ),
    Rule(
        "code-reference",
        ERROR,
        "A code task's `reference_answer` (it has `entry_point`, `tests` or `test_code`) is not in one of "
        "the three code formats.",
        'Write it as {"entry_point", "tests": [{"args", "kwargs", "expected"}]}, '
        '{"tests": [{"stdin", "stdout"}]} or {"test_code": "assert ..."} '
        "(see docs/code-rewards.md).",
    ),
    Rule(
        "code-solution",
        ERROR,
        "A code task's `solution` is not valid Python, or does not define its `entry_point`.",
        "Fix the reference solution: it is the positive control the preflight and `rft probe` run.",
    ),
    Rule(
        "code-no-solution",
        WARNING,
        "A code task has no `solution`, so the preflight and `rft probe` have no positive control for it.",
        'Add "solution": "<reference Python code that passes the tests>".',
    ),
    Rule(
        "code-opaque-asserts",
        WARNING,
        "Some asserts of a code task's `test_code` have a shape the runner cannot rewrite, so their "
        "verdict is decided inside the sandbox (an always-equal object could pass them).",
        "Write them as `assert f(...) == <literal>` (or <, >, in, isclose, truthy/falsy shapes).",
    ),
    Rule(
        "reference-too-large",
        ERROR,
        f"`reference_answer` is longer than {MAX_REFERENCE_CHARS:,} characters (as JSON text).",
        "Keep only what the grader compares with (e.g. the final answer); a reference this long slows "
        "the grading of every response to the prompt.",
    ),
    Rule(
        "nested-too-deep",
        ERROR,
        f"A value of the record is nested more than {MAX_NESTING} levels deep.",
        "Flatten the structure: the reward Lambda copies each sample to worker processes, which cannot "
        "carry values this deep.",
    ),
    Rule(
        "duplicate-prompt",
        WARNING,
        "The same prompt (every message, ignoring surrounding whitespace) appears on an earlier line.",
        "Remove the duplicate; repeated prompts weigh those tasks more in training.",
    ),
    Rule(
        "duplicate-task-id",
        WARNING,
        "The same `task_id` appears on an earlier line.",
        "Give every record a unique `task_id`, so results can be traced back to one record.",
    ),
    # Tool calling (reward.dataset_tools; docs/tool-calling.md).
    Rule(
        "tools-not-list",
        ERROR,
        "`tools` is present but not a non-empty list.",
        'Give `tools` as a list of {"type": "function", "function": {"name", "description", "parameters"}}, '
        "or leave it out (in every record).",
    ),
    Rule(
        "tool-definition",
        ERROR,
        'A tool lacks `type: "function"`, a non-empty `function.name` or a non-empty `function.description`.',
        'Write each tool as {"type": "function", "function": {"name": "...", "description": "...", '
        '"parameters": {...}}}.',
    ),
    Rule(
        "tool-schema",
        ERROR,
        'A tool\'s `function.parameters` is not a valid JSON Schema object with `type: "object"` and '
        "`properties`.",
        'Write `parameters` as {"type": "object", "properties": {...}, "required": [...]}.',
    ),
    Rule(
        "duplicate-tool-name",
        ERROR,
        "Two tools of the record have the same name.",
        "Give every tool of a record a unique name.",
    ),
    Rule(
        "tools-in-some-records",
        ERROR,
        "Some records have `tools` and others do not (the Nova Forge SDK requires all or none).",
        "Declare `tools` in every record (the rows that expect no call still list the tools), or in none.",
    ),
    Rule(
        "expected-call",
        ERROR,
        "`reference_answer` names tool calls in a shape that cannot be read.",
        'Write {"tool_calls": [{"name": "...", "arguments": {...}}]} ([] for no call), or '
        '{"tool_called": "...", "tool_parameters": {...}} (null for no call).',
    ),
    Rule(
        "expected-tool-undeclared",
        ERROR,
        "`reference_answer` expects a call to a tool the record does not declare in `tools`.",
        "Add the tool to the record's `tools`, or fix the tool name in `reference_answer`.",
    ),
    Rule(
        "expected-arguments",
        ERROR,
        "The expected call's arguments fail the tool's JSON Schema (or name an argument it does not have).",
        "Fix the expected arguments (names, types, required ones), or the tool's `parameters`.",
    ),
    Rule(
        "too-few-rows",
        ERROR,
        f"The file has fewer records than the minimum (Bedrock RFT requires at least {TRAINING_MIN_ROWS} "
        "training records; a validation file needs at least one).",
        "Add more records.",
    ),
    Rule(
        "small-validation-set",
        WARNING,
        f"The validation file has fewer than {VALIDATION_RECOMMENDED_ROWS} records. AWS sets no minimum for "
        "validation data, but the validation reward of so few prompts is noisy.",
        f"Move prompts from the training data until it has about {VALIDATION_RECOMMENDED_ROWS}, or accept "
        "the noise.",
    ),
    Rule(
        "too-many-rows",
        ERROR,
        f"The file has more records than the maximum (Bedrock RFT takes at most {DEFAULT_MAX_ROWS:,}).",
        "Split or sample the dataset.",
    ),
)


@dataclass(frozen=True)
class Finding:
    """One problem in a dataset file. ``line`` is 1-based; 0 means the whole file."""

    line: int
    code: str
    message: str
    hint: str

    @property
    def severity(self) -> str:
        return RULES[self.code].severity


@dataclass(frozen=True)
class DatasetReport:
    """The verdict on one dataset: every error and warning, in line order, and the record count.

    ``rows`` counts records (non-blank lines), valid or not. ``suppressed`` maps a code to how many
    further findings of that code were counted but not kept (see ``MAX_FINDINGS_PER_CODE``).
    """

    errors: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    rows: int
    suppressed: Mapping[str, int] = field(default_factory=dict)
    role: str = "training"

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings do not fail a dataset)."""
        return not self.errors

    @property
    def error_count(self) -> int:
        """All errors, including those not kept."""
        return len(self.errors) + sum(
            n for code, n in self.suppressed.items() if RULES[code].severity == ERROR
        )

    @property
    def warning_count(self) -> int:
        """All warnings, including those not kept."""
        return len(self.warnings) + sum(
            n for code, n in self.suppressed.items() if RULES[code].severity == WARNING
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for ``rft validate-data --json``)."""

        def finding(f: Finding) -> dict[str, Any]:
            return {"line": f.line, "code": f.code, "message": f.message, "hint": f.hint}

        return {
            "ok": self.ok,
            "role": self.role,
            "rows": self.rows,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "errors": [finding(f) for f in self.errors],
            "warnings": [finding(f) for f in self.warnings],
            "suppressed": dict(self.suppressed),
        }


# --------------------------------------------------------------------------------------------------
# Reading lines: bounded memory, whatever the file looks like.


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    data: bytes | None  # without the line terminator; None when the line was too long to keep
    size: int  # the line's length in bytes (without terminator)


def _read_file_lines(stream: io.BufferedIOBase, limit: int) -> Iterator[_Line]:
    """Yield the lines of a binary stream, never holding more than ``limit`` + 1 bytes of one line."""
    number = 0
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        number += 1
        if chunk.endswith(b"\n") or len(chunk) <= limit:
            data = _strip_terminator(chunk)
            yield _Line(number, data, len(data))
            continue
        # Longer than the limit: skip to the end of the line, counting its size.
        size = len(chunk)
        while not chunk.endswith(b"\n"):
            chunk = stream.readline(1 << 16)
            if not chunk:
                break
            size += len(chunk)
        if chunk.endswith(b"\n"):
            size -= 2 if chunk.endswith(b"\r\n") else 1
        yield _Line(number, None, size)


def _strip_terminator(chunk: bytes) -> bytes:
    if chunk.endswith(b"\r\n"):
        return chunk[:-2]
    if chunk.endswith(b"\n"):
        return chunk[:-1]
    return chunk


def _memory_lines(lines: Iterable[bytes | str], limit: int) -> Iterator[_Line]:
    for number, raw in enumerate(lines, start=1):
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
        data = _strip_terminator(data)
        yield _Line(number, data if len(data) <= limit else None, len(data))


# --------------------------------------------------------------------------------------------------
# Checking one record. Pure: no state across lines, so iter_rows and the validator share it.

_Problem = tuple[str, str, str]  # (code, message, hint)


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and the service's parser) does not.
    raise _NotJson(f"{name} is not valid JSON (use null or a number)")


def _decode_line(line: _Line) -> tuple[Any, list[_Problem]]:
    """Bytes → JSON value. Returns (value, problems); value is _SKIP when the line cannot be used."""
    problems: list[_Problem] = []
    data = line.data
    if data is None:
        problems.append(
            ("line-too-long", f"line is {line.size:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit", "")
        )
        return _SKIP, problems
    if data.startswith(_BOM):
        problems.append(("bom", "line starts with a UTF-8 byte-order mark (BOM)", ""))
        data = data[len(_BOM) :]
    if not data.strip():
        return _BLANK, problems
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex().upper()
        hint = ""
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:64]:
            hint = "The file looks like UTF-16: re-save it as UTF-8."
        problems.append(
            ("not-utf8", f"line is not valid UTF-8: byte 0x{bad} at byte column {exc.start + 1}", hint)
        )
        return _SKIP, problems
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        problems.append(("invalid-json", json_error_message(exc), ""))
        return _SKIP, problems
    except (_NotJson, RecursionError) as exc:
        message = str(exc) if isinstance(exc, _NotJson) else "nested too deeply"
        problems.append(("invalid-json", f"invalid JSON: {message}", ""))
        return _SKIP, problems
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        problems.append(
            (
                "not-utf8",
                "line has a \\u escape for an unpaired surrogate, which is not valid Unicode",
                "Write characters above U+FFFF as both halves of the pair (\\ud83d\\ude00), or unescaped.",
            )
        )
        return _SKIP, problems
    return value, problems


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SKIP = object()
_BLANK = object()


def _check_record(record: Any, line: _Line | None = None) -> list[_Problem]:
    """Every problem with one parsed JSON value, as (code, message, hint) — empty hint = the rule's fix.

    ``line`` (the raw line) lets the size and nesting checks skip the walk when the line is too short or
    has too few brackets to break them (the common case: validation stays ~1 us per row)."""
    if not isinstance(record, dict):
        return [("not-an-object", f"line is a JSON {_json_type(record)}, not an object", "")]
    problems: list[_Problem] = []
    if "id" in record and not _is_record_id(record["id"]):
        problems.append(("id-not-string", f"`id` is {_short(record['id'])}, not a non-empty string", ""))
    problems.extend(_check_messages(record))
    problems.extend(_check_reference(record, line is None or line.size > MAX_REFERENCE_CHARS))
    problems.extend(_check_tools(record))
    data = line.data if line is not None else None
    could_nest = data is None or data.count(b"[") + data.count(b"{") > MAX_NESTING
    depth = _nesting(record) if could_nest else 0
    if depth > MAX_NESTING:
        problems.append(("nested-too-deep", f"record is nested {depth} levels deep (max {MAX_NESTING})", ""))
    return problems


def _check_tools(record: dict[str, Any]) -> list[_Problem]:
    """The tool-calling rules (``reward.dataset_tools``): imported only for records that need them."""
    if "tools" not in record and not isinstance(record.get("reference_answer"), dict):
        return []
    from reward.dataset_tools import check_record_tools

    return check_record_tools(record)


def _nesting(value: Any) -> int:
    """How deep containers nest in ``value`` (a scalar is 0), without recursion, stopping past the limit."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_NESTING:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def _check_messages(record: dict[str, Any]) -> list[_Problem]:
    if "messages" not in record:
        hint = ""
        if "prompt" in record or "completion" in record:
            hint = (
                'This looks like prompt/completion format: convert "prompt" to a user message in `messages`.'
            )
        elif "contents" in record or "conversation" in record:
            hint = "Rename the field to `messages` (OpenAI chat format)."
        return [("missing-messages", "record has no `messages` field", hint)]
    messages = record["messages"]
    if not isinstance(messages, list):
        return [("messages-not-list", f"`messages` is a {_json_type(messages)}, not a list", "")]
    problems: list[_Problem] = []
    roles: list[str | None] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(("message-not-object", f"{where} is a {_json_type(message)}, not an object", ""))
            roles.append(None)
            continue
        role = message.get("role")
        if role in _ROLES:
            roles.append(role)
        else:
            roles.append(None)
            if "role" not in message:
                problems.append(("unknown-role", f"{where} has no `role`", ""))
            else:
                hint = ""
                if isinstance(role, str) and role.lower() in _ROLES:
                    hint = f'Roles are lowercase: use "{role.lower()}".'
                elif role in ("tool", "function", "developer", "model"):
                    hint = "RFT prompts take only system and user messages."
                problems.append(("unknown-role", f"{where} has role {_short(role)}", hint))
        problems.extend(_check_content(message, where))
    problems.extend(_check_turns(roles))
    return problems


def _check_content(message: dict[str, Any], where: str) -> list[_Problem]:
    extra = next((key for key in _NON_TEXT_MESSAGE_KEYS if key in message), None)
    if extra == "tool_calls" and _is_tool_call_turn(message):
        return []  # a well-formed assistant tool call: content may be null; the turn rules still apply
    if extra is not None:
        return [("non-text-content", f"{where} has `{extra}`", "")]
    content = message.get("content")
    if content is None:
        return [("missing-content", f"{where} has no `content`", "")]
    if isinstance(content, str):
        if not content.strip():
            return [
                ("empty-content", f"{where} content is {'empty' if not content else 'only whitespace'}", "")
            ]
        return []
    if isinstance(content, (list, dict)):
        blocks = content if isinstance(content, list) else [content]
        for block in blocks:
            kind = _block_kind(block)
            if kind not in ("text", None):
                return [("non-text-content", f"{where} content has a {_short(kind)} block", "")]
        if isinstance(content, list) and content and all(_block_kind(b) == "text" for b in content):
            if not any(block["text"].strip() for block in content):
                return [("empty-content", f"{where} content is text parts with no text", "")]
            return [("content-parts", f"{where} content is a list of {len(content)} text part(s)", "")]
    return [("content-not-string", f"{where} content is a {_json_type(content)}, not a string", "")]


def _is_record_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_tool_call_turn(message: dict[str, Any]) -> bool:
    from reward.dataset_tools import tool_calls_message_ok

    return tool_calls_message_ok(message)


def _block_kind(block: Any) -> str | None:
    """'text' for a text block, another type name for non-text blocks, None if unrecognizable."""
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if isinstance(kind, str):
        return "text" if kind in ("text", "input_text") and isinstance(block.get("text"), str) else kind
    for key in ("image", "image_url", "document", "video", "audio", "toolUse", "toolResult"):
        if key in block:
            return key
    return "text" if isinstance(block.get("text"), str) else None


def _check_turns(roles: list[str | None]) -> list[_Problem]:
    problems: list[_Problem] = []
    known = [r for r in roles if r is not None]
    if "user" not in known:
        detail = "`messages` is empty" if not roles else "`messages` has no user message"
        problems.append(("no-user-message", detail, ""))
    systems = [i for i, r in enumerate(roles) if r == "system"]
    if len(systems) > 1:
        where = ", ".join(f"messages[{i}]" for i in systems)
        problems.append(("multiple-system", f"{len(systems)} system messages ({where})", ""))
    elif systems and systems[0] != 0:
        problems.append(
            ("system-not-first", f"the system message is messages[{systems[0]}], not messages[0]", "")
        )
    assistants = [i for i, r in enumerate(roles) if r == "assistant"]
    last = len(roles) - 1
    if assistants and assistants[-1] == last:
        problems.append(
            ("ends-with-assistant", f"the last message (messages[{last}]) is an assistant turn", "")
        )
    earlier = [i for i in assistants if i != last]
    if earlier:
        problems.append(("multi-turn", f"assistant message at messages[{earlier[0]}] inside the prompt", ""))
    elif not assistants and known.count("user") > 1:
        problems.append(("multiple-user-messages", f"{known.count('user')} user messages", ""))
    return problems


def _check_reference(record: dict[str, Any], check_size: bool = True) -> list[_Problem]:
    if "reference_answer" not in record:
        metadata = record.get("metadata")
        hint = ""
        if isinstance(metadata, dict) and "reference_answer" in metadata:
            hint = "Move `metadata.reference_answer` to the top level of the record."
        return [("missing-reference-answer", "record has no `reference_answer`", hint)]
    reference = record["reference_answer"]
    if isinstance(reference, (str, dict)) or reference is None:
        if reference is None or not (reference.strip() if isinstance(reference, str) else reference):
            return [("empty-reference-answer", f"`reference_answer` is {_short(reference)}", "")]
        size = _reference_chars(reference) if check_size else 0
        if size > MAX_REFERENCE_CHARS:
            return [
                (
                    "reference-too-large",
                    f"`reference_answer` is {size:,} characters, over the {MAX_REFERENCE_CHARS:,} limit",
                    "",
                )
            ]
        if isinstance(reference, dict):
            return _check_code_reference(reference)
        return []
    if isinstance(reference, list) and not reference:
        return [("empty-reference-answer", "`reference_answer` is []", "")]
    hint = ""
    if isinstance(reference, (int, float)) and not isinstance(reference, bool):
        hint = f'Quote it: "reference_answer": "{reference}" (or {{"final_answer": "{reference}"}}).'
    return [("reference-answer-type", f"`reference_answer` is a {_json_type(reference)}", hint)]


def _check_code_reference(reference: dict[str, Any]) -> list[_Problem]:
    """The code formats (``reward.code_tasks``), for references that carry a code key."""
    from reward import code_tasks

    if not code_tasks.is_code_reference(reference):
        return []
    task, problem = code_tasks.read_task(reference)
    if task is None:
        return [("code-reference", problem, "")]
    problems: list[_Problem] = []
    if task.solution is None:
        problems.append(("code-no-solution", "the code task has no `solution`", ""))
    else:
        bad = code_tasks.check_solution_parses(task)
        if bad:
            problems.append(("code-solution", bad, ""))
    if task.test_code is not None:
        opaque = code_tasks.opaque_asserts(task.test_code)
        if opaque:
            problems.append(("code-opaque-asserts", f"{opaque} assert(s) judged inside the sandbox", ""))
    return problems


def _reference_chars(reference: str | dict[str, Any]) -> int:
    """The reference's size as JSON text (a string: its length), for the size limit."""
    if isinstance(reference, str):
        return len(reference)
    try:
        return len(json.dumps(reference, ensure_ascii=False))
    except (ValueError, RecursionError):  # too deep: reported by nested-too-deep
        return 0


def _prompt_key(record: dict[str, Any]) -> bytes:
    """An 8-byte digest of the prompt (roles and stripped text), for duplicate detection."""
    parts = []
    for message in record.get("messages") or ():
        if isinstance(message, dict):
            content = message.get("content")
            text = content.strip() if isinstance(content, str) else json.dumps(content, sort_keys=True)
            parts.append(f"{message.get('role')}\x00{text}")
    return hashlib.blake2b("\x01".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value)  # ASCII-safe: the value may hold characters a terminal cannot print
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------------------------------
# The validator: streams lines through the record checks and the cross-line checks.


class _Collector:
    def __init__(self) -> None:
        self.kept: list[Finding] = []
        self.counts: dict[str, int] = {}

    def add(self, line: int, code: str, message: str, hint: str = "") -> None:
        count = self.counts.get(code, 0) + 1
        self.counts[code] = count
        if count <= MAX_FINDINGS_PER_CODE:
            self.kept.append(Finding(line, code, message, hint or RULES[code].fix))

    def report(self, rows: int, role: str = "training") -> DatasetReport:
        ordered = sorted(self.kept, key=lambda f: f.line)  # stable: keeps check order within a line
        suppressed = {
            c: n - MAX_FINDINGS_PER_CODE for c, n in self.counts.items() if n > MAX_FINDINGS_PER_CODE
        }
        return DatasetReport(
            errors=tuple(f for f in ordered if RULES[f.code].severity == ERROR),
            warnings=tuple(f for f in ordered if RULES[f.code].severity == WARNING),
            rows=rows,
            suppressed=dict(sorted(suppressed.items())),
            role=role,
        )


def _validate(lines: Iterable[_Line], role: str, min_rows: int | None, max_rows: int) -> DatasetReport:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if min_rows is None:
        min_rows = _MIN_ROWS[role]
    found = _Collector()
    rows = 0
    prompts: dict[bytes, int] = {}
    task_ids: dict[str, int] = {}
    ids = _RecordIds()
    tools_presence = _ToolsPresence()
    for line in lines:
        value, problems = _decode_line(line)
        for code, message, hint in problems:
            found.add(line.number, code, message, hint)
        if value is _BLANK:
            found.add(line.number, "blank-line", "blank line")
            continue
        rows += 1
        if value is _SKIP:
            continue
        for code, message, hint in _check_record(value, line):
            found.add(line.number, code, message, hint)
        ids.see(value, line.number, found)
        for code, message, hint in tools_presence.check(line.number, value):
            found.add(line.number, code, message, hint)
        if isinstance(value, dict) and rows <= _DEDUP_ROW_LIMIT:
            if isinstance(value.get("messages"), list):
                first = prompts.setdefault(_prompt_key(value), line.number)
                if first != line.number:
                    found.add(line.number, "duplicate-prompt", f"same prompt as line {first}")
            task_id = value.get("task_id")
            if isinstance(task_id, (str, int)) and not isinstance(task_id, bool):
                first = task_ids.setdefault(str(task_id), line.number)
                if first != line.number:
                    found.add(
                        line.number, "duplicate-task-id", f"task_id {_short(task_id)} is also on line {first}"
                    )
    ids.finish(found)
    if rows < min_rows:
        found.add(0, "too-few-rows", f"{rows} records; at least {min_rows} are required")
    elif rows > max_rows:
        found.add(0, "too-many-rows", f"{rows:,} records; at most {max_rows:,} are allowed")
    elif role == "validation" and rows < VALIDATION_RECOMMENDED_ROWS:
        found.add(
            0,
            "small-validation-set",
            f"{rows} validation records; {VALIDATION_RECOMMENDED_ROWS} or more are recommended",
        )
    return found.report(rows, role)


class _RecordIds:
    """The file-level rules of the dataset `id`: unique, and in every record or none (an `id` that is not a
    non-empty string is its own error and counts on neither side here)."""

    def __init__(self) -> None:
        self.first_line: dict[str, int] = {}
        self.with_id = 0
        self.without = 0
        self.first_with: int | None = None
        self.first_without: int | None = None

    def see(self, record: Any, line: int, found: _Collector) -> None:
        if not isinstance(record, dict):
            return
        if "id" not in record:
            self.without += 1
            self.first_without = self.first_without or line
            return
        value = record["id"]
        if not _is_record_id(value):  # its own error (id-not-string): on neither side
            return
        self.with_id += 1
        self.first_with = self.first_with or line
        first = self.first_line.setdefault(value, line)
        if first != line:
            found.add(line, "duplicate-id", f"id {_short(value)} is also on line {first}")

    def finish(self, found: _Collector) -> None:
        """One error, on the first record of the smaller side."""
        if not self.with_id or not self.without:
            return
        if self.with_id < self.without:
            found.add(
                self.first_with or 0,
                "id-in-some-records",
                f"only {self.with_id} record(s) have an `id` (the first here); {self.without} do not",
            )
        else:
            found.add(
                self.first_without or 0,
                "id-in-some-records",
                f"{self.without} record(s) have no `id` (the first here); {self.with_id} do "
                f"(the first on line {self.first_with})",
            )


class _ToolsPresence:
    """``tools`` in all records or none (``reward.dataset_tools.ToolsPresence``, loaded on first use)."""

    def __init__(self) -> None:
        self._rule: Any = None

    def check(self, line: int, record: Any) -> list[_Problem]:
        if self._rule is None:
            if not isinstance(record, dict):
                return []
            from reward.dataset_tools import ToolsPresence

            self._rule = ToolsPresence()
        return self._rule.check(line, record)


def validate_dataset_file(
    path: str | os.PathLike[str],
    *,
    role: str = "training",
    min_rows: int | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> DatasetReport:
    """Validate a JSONL dataset file against the Nova RFT rules; never raises for a bad file.

    ``role`` ("training" or "validation") sets the row rules (see ``TRAINING_MIN_ROWS``); ``min_rows``
    overrides the minimum. An unreadable file is reported as an ``unreadable-file`` error on line 0.
    """
    try:
        with open(path, "rb") as stream:
            return _validate(_read_file_lines(stream, MAX_LINE_BYTES), role, min_rows, max_rows)
    except OSError as exc:
        found = _Collector()
        found.add(0, "unreadable-file", f"cannot read the file: {exc.strerror or exc}")
        return found.report(0, role)


def validate_dataset_lines(
    lines: Iterable[bytes | str],
    *,
    role: str = "training",
    min_rows: int | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> DatasetReport:
    """Validate in-memory content, one item per line (with or without its newline).

    ``io.BytesIO(data)`` works as ``lines`` for a whole file's bytes (e.g. an S3 object).
    """
    return _validate(_memory_lines(lines, MAX_LINE_BYTES), role, min_rows, max_rows)


_VALIDATION_WORDS = frozenset({"validation", "valid", "val", "eval", "evaluation", "dev", "test", "holdout"})


def json_error_message(exc: json.JSONDecodeError) -> str:
    """``invalid JSON at column 45: unterminated string starting at column 12`` — whole, never a message
    that ends in "at" (``json``'s own ``msg`` leaves the position to its ``str``)."""
    msg = exc.msg
    if msg.endswith(" at"):  # e.g. "Unterminated string starting at": the position is the point
        msg = f"{msg} column {exc.colno}"
        return f"invalid JSON: {msg[0].lower()}{msg[1:]}"
    return f"invalid JSON at column {exc.colno}: {msg[0].lower()}{msg[1:]}"


def guess_role(path: str | os.PathLike[str]) -> str:
    """ "validation" when the file's name says so (``validation.jsonl``, ``val-30.jsonl``, ``gsm8k_eval``),
    else "training": what ``rft validate-data`` assumes when not told (``--role``)."""
    return "validation" if validation_words(path) else "training"


def validation_words(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The words of the file's name that make ``guess_role`` call it validation data (sorted)."""
    words = re.split(r"[^a-z0-9]+", os.path.basename(os.fspath(path)).lower())
    return tuple(sorted(_VALIDATION_WORDS.intersection(words)))


def iter_rows_from_lines(lines: Iterable[bytes | str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for every record with no error; skip blank and invalid lines.

    Row-count and cross-line findings (duplicates) do not filter rows: they are file-level concerns.
    """
    yield from _valid_rows(_memory_lines(lines, MAX_LINE_BYTES))


def iter_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for every valid record of a dataset file, streaming.

    The one dataset reader for other tools (``rft score``, the job starter's preflight). It raises
    OSError if the file cannot be read; run :func:`validate_dataset_file` first to learn why rows
    are skipped.
    """
    with open(path, "rb") as stream:
        yield from _valid_rows(_read_file_lines(stream, MAX_LINE_BYTES))


def _valid_rows(lines: Iterable[_Line]) -> Iterator[tuple[int, dict[str, Any]]]:
    for line in lines:
        value, problems = _decode_line(line)
        if value is _SKIP or value is _BLANK or _has_error(problems):
            continue
        if not _has_error(_check_record(value, line)):
            yield line.number, value


def _has_error(problems: list[_Problem]) -> bool:
    return any(RULES[code].severity == ERROR for code, _, _ in problems)


# --------------------------------------------------------------------------------------------------
# Presentation.


def format_findings(report: DatasetReport, path: str | os.PathLike[str]) -> str:
    """Human-readable findings, one per line, compiler style, then a one-line summary::

    data/train.jsonl:7: error invalid-json: invalid JSON at column 12: Expecting ',' delimiter — Fix ...
    data/train.jsonl: 1 error, 0 warnings in 250 records
    """
    name = os.fspath(path)
    findings = sorted(
        [(f, ERROR) for f in report.errors] + [(f, WARNING) for f in report.warnings],
        key=lambda item: item[0].line,
    )
    out = [f"{name}:{f.line}: {severity} {f.code}: {f.message} — {f.hint}" for f, severity in findings]
    for code, count in report.suppressed.items():
        out.append(
            f"{name}: … and {count:,} more {RULES[code].severity} {code} "
            f"(only the first {MAX_FINDINGS_PER_CODE} are shown)"
        )
    errors, warnings = report.error_count, report.warning_count
    out.append(
        f"{name}: {errors:,} error{'s' if errors != 1 else ''}, "
        f"{warnings:,} warning{'s' if warnings != 1 else ''} in {report.rows:,} "
        f"record{'s' if report.rows != 1 else ''}"
        + (" (validation data)" if report.role == "validation" else "")
    )
    return "\n".join(out)


def rules_markdown_table() -> str:
    """The rules as a Markdown table, for docs/dataset-format.md (generated, so it cannot drift from RULES)."""
    rows = ["| Code | Severity | Meaning | Fix |", "| --- | --- | --- | --- |"]
    for rule in RULES.values():
        rows.append(f"| `{rule.code}` | {rule.severity} | {rule.meaning} | {rule.fix} |")
    return "\n".join(rows)
