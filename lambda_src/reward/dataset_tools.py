"""The dataset validator's tool-calling rules (``reward.dataset`` owns the rule table and calls these).

A record may declare ``tools`` (OpenAI-style function definitions, docs/tool-calling.md); its
``reference_answer`` then names the expected calls. Checked here, per record: the tools themselves
(``reward.tool_specs``), the expected calls (each names a declared tool, its arguments valid against that
tool's schema) and the assistant ``tool_calls`` shape; across records: ``tools`` in all records or none
(the Nova Forge SDK's rule). Checking a record's tools costs a JSON Schema metaschema check, so the
verdict is remembered per distinct ``tools`` value (records usually share one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reward import tool_specs

_Problem = tuple[str, str, str]  # (code, message, hint), as in reward.dataset

#: tool_specs problem kind -> dataset rule code.
_CODES = {
    "not-list": "tools-not-list",
    "definition": "tool-definition",
    "schema": "tool-schema",
    "duplicate": "duplicate-tool-name",
}
_CACHE_LIMIT = 256
_tools_cache: dict[str, tuple[list[_Problem], tuple[tool_specs.Tool, ...] | None]] = {}


def check_record_tools(record: Mapping[str, Any]) -> list[_Problem]:
    """Every tool-calling problem of one record (empty for a record without tools or tool references)."""
    has_tools = "tools" in record
    reference = record.get("reference_answer")
    # Without tools, only an object naming tool calls counts (a list-like string is some other answer).
    expects = reference is not None and tool_specs.has_expected_calls(reference)
    if expects and not has_tools:
        expects = isinstance(reference, Mapping) and any(k in reference for k in tool_specs.REFERENCE_KEYS)
    if not has_tools and not expects:
        return []
    problems: list[_Problem] = []
    tools = None
    if has_tools:
        found, tools = _tools_verdict(record["tools"])
        problems.extend(found)
    if expects and (tools is not None or not has_tools):
        problems.extend(_check_expected(reference, tools if has_tools else None, has_tools))
    return problems


def _tools_verdict(value: Any) -> tuple[list[_Problem], tuple[tool_specs.Tool, ...] | None]:
    try:
        key = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        key = None
    if key is not None and key in _tools_cache:
        return _tools_cache[key]
    problems = [(_CODES[kind], message, "") for kind, message in tool_specs.classified_tool_problems(value)]
    verdict = (problems, None if problems else tool_specs.read_tools(value))
    if key is not None:
        if len(_tools_cache) >= _CACHE_LIMIT:
            _tools_cache.clear()
        _tools_cache[key] = verdict
    return verdict


def _check_expected(reference: Any, tools: Any, has_tools: bool) -> list[_Problem]:
    try:
        calls = tool_specs.expected_calls(reference)
    except tool_specs.ToolSpecError as exc:
        return [("expected-call", f"reference_answer: {exc}", "")]
    if not has_tools:
        if not calls:
            return []
        names = ", ".join(repr(c.name) for c in calls)
        return [
            (
                "expected-tool-undeclared",
                f"reference_answer expects a call to {names} but the record has no `tools`",
                "",
            )
        ]
    problems: list[_Problem] = []
    for call in calls:
        for message in tool_specs.call_problems(call, tools):
            code = (
                "expected-tool-undeclared"
                if "not in the record's `tools`" in message
                else "expected-arguments"
            )
            problems.append((code, f"reference_answer: {message}", ""))
    return problems


def tool_calls_message_ok(message: Mapping[str, Any]) -> bool:
    """True for an assistant message whose ``tool_calls`` is a well-formed OpenAI list (then it is not
    "non-text content"; the turn rules still apply: RFT prompts end with a user turn)."""
    calls = message.get("tool_calls")
    if message.get("role") != "assistant" or not isinstance(calls, list) or not calls:
        return False
    for call in calls:
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            return False
        arguments = function.get("arguments")
        if not isinstance(arguments, (str, Mapping)):
            return False
    return True


class ToolsPresence:
    """The cross-record rule: ``tools`` in all records or none. Feed it each record in line order."""

    def __init__(self) -> None:
        self.first: tuple[int, bool] | None = None  # (line, has tools) of the first record

    def check(self, line: int, record: Any) -> list[_Problem]:
        """The problem of this record, if it disagrees with the first record."""
        if not isinstance(record, Mapping):
            return []
        has_tools = "tools" in record
        if self.first is None:
            self.first = (line, has_tools)
            return []
        first_line, first_has = self.first
        if has_tools == first_has:
            return []
        if has_tools:
            message = f"record has `tools` but line {first_line} has none"
        else:
            message = f"record has no `tools` but line {first_line} has them"
        return [("tools-in-some-records", message, "")]
