"""Tool-call attack families for ``rft probe`` (registered by ``rft.attacks``): what a policy under RL
pressure tries when its reward grades tool calls (docs/tool-calling.md).

A row is a tool-call row when its ``reference_answer`` names the expected calls (``reward.tool_specs``).
Each attack is written as a JSON array of ``{"name", "arguments"}`` calls — a shape the reader accepts
like OpenAI ``tool_calls`` or Converse ``toolUse`` blocks — except the ones that are text by nature
(the call told in prose, a text answer). ``honest_wrong`` is the yardstick: the right tool with one wrong
value. A sound tool-call reward scores every other family at most as high as ``honest_wrong``, and all
of them below the positive control.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reward.tool_specs import (
    ExpectedCall,
    Tool,
    ToolSpecError,
    expected_calls,
    has_expected_calls,
    tools_or_none,
)

__all__ = ["FAMILIES", "build", "is_tool_row"]

#: Every tool-call family, with what it tries.
FAMILIES: Mapping[str, str] = {
    "honest_wrong": "the right tool with one wrong argument value (the yardstick: every other tool "
    "family must score at most this)",
    "every_tool": "every declared tool called at once",
    "hedged_calls": "the right call plus a variant of it with another value",
    "invented_argument": "the right call with an argument the tool does not have",
    "extra_call": "the right calls plus one more (a repeat, and another tool)",
    "wrong_tool": "another tool called with the same arguments",
    "call_when_none": "a tool called when the row expects no call",
    "no_call": "a plain text answer when a call is expected",
    "string_numbers": 'the right call with numbers and booleans written as strings ("5" for 5)',
    "prose_call": "the right call described in prose instead of made",
}


def is_tool_row(row: Mapping[str, Any]) -> bool:
    """True when the row declares ``tools`` and its reference names the expected calls."""
    return "tools" in row and has_expected_calls(row.get("reference_answer"))


def build(row: Mapping[str, Any]) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """``([(family, variant, response)], {family: why skipped})`` for one tool-call row."""
    try:
        expected = expected_calls(row.get("reference_answer"))
    except ToolSpecError as exc:
        return [], dict.fromkeys(FAMILIES, f"the reference's calls cannot be read: {exc}")
    tools = tools_or_none(row.get("tools")) or ()
    attacks: list[tuple[str, str, str]] = []
    skipped: dict[str, str] = {}
    right = [_as_call(c) for c in expected]

    def add(family: str, variant: str, calls: Sequence[Mapping[str, Any]] | str) -> None:
        attacks.append((family, variant, calls if isinstance(calls, str) else json.dumps(list(calls))))

    others = [t for t in tools if t.name not in {c.name for c in expected}]
    if not expected:
        for family in FAMILIES:
            skipped[family] = "the row expects no call"
        skipped.pop("call_when_none")
        skipped.pop("every_tool")
        if tools:
            add("call_when_none", "first tool", [_minimal_call(tools[0])])
            add("every_tool", "all tools", [_minimal_call(t) for t in tools])
        else:
            skipped["call_when_none"] = skipped["every_tool"] = "the row declares no tools"
        return attacks, skipped
    skipped["call_when_none"] = "the row expects a call"

    first = right[0]
    variant = _with_wrong_value(first, _tool(tools, first["name"]))
    if variant is not None:
        add("honest_wrong", "one wrong value", [variant, *right[1:]])
        add("hedged_calls", "right then variant", [*right, variant])
        add("hedged_calls", "variant then right", [variant, *right])
    else:
        skipped["honest_wrong"] = skipped["hedged_calls"] = "the expected call has no argument to change"
    if len(tools) > 1:
        add("every_tool", "all tools", [*right, *(_minimal_call(t) for t in others)])
    else:
        skipped["every_tool"] = "the row declares one tool"
    add(
        "invented_argument",
        "extra argument",
        [{**first, "arguments": {**first["arguments"], "confirm": True}}, *right[1:]],
    )
    add("extra_call", "repeat", [*right, first])
    if others:
        add("extra_call", "another tool", [*right, _minimal_call(others[0])])
        add("wrong_tool", "other tool, same arguments", [{**first, "name": others[0].name}, *right[1:]])
    else:
        skipped["wrong_tool"] = "no other tool is declared"
    stringly = [{**c, "arguments": _stringify(c["arguments"])} for c in right]
    if stringly != right:
        add("string_numbers", "numbers as strings", stringly)
    else:
        skipped["string_numbers"] = "the expected arguments hold no number or boolean"
    add("no_call", "text answer", "Sure, I can help with that. Let me know if you need anything else.")
    said = "; ".join(f"I would call {c['name']} with {json.dumps(c['arguments'])}" for c in right)
    add("prose_call", "told, not made", f"To do this, {said}.")
    return attacks, skipped


def _as_call(call: ExpectedCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": dict(call.arguments)}


def _tool(tools: Sequence[Tool], name: str) -> Tool | None:
    return next((t for t in tools if t.name == name), None)


def _with_wrong_value(call: Mapping[str, Any], tool: Tool | None) -> dict[str, Any] | None:
    """The call with its first changeable argument given another value the schema still accepts."""
    properties = tool.properties if tool is not None else {}
    for key, value in call["arguments"].items():
        schema = properties.get(key)
        other = _other_value(value, schema if isinstance(schema, Mapping) else {})
        if other is not None:
            return {**call, "arguments": {**call["arguments"], key: other}}
    return None


def _other_value(value: Any, schema: Mapping[str, Any]) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list):
        return next((v for v in enum if v != value), None)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        low, high = schema.get("minimum"), schema.get("maximum")
        candidate = value + 1
        if isinstance(high, (int, float)) and candidate > high:
            candidate = value - 1
        return candidate if not (isinstance(low, (int, float)) and candidate < low) else None
    if isinstance(value, float):
        return (
            value + 1.0
            if not isinstance(schema.get("maximum"), (int, float)) or value + 1 <= schema["maximum"]
            else value - 1.0
        )
    if isinstance(value, str):
        if "pattern" in schema and value.isupper() and len(value) == 3:
            return value[::-1] if value[::-1] != value else "ZZZ"
        if "pattern" in schema and value[:4].isdigit():  # a date or a time: shift the year
            return str(int(value[:4]) + 1) + value[4:]
        return value + " Springs" if "pattern" not in schema else None
    if isinstance(value, list) and value:
        return value[:-1] if len(value) > 1 else None
    return None


def _minimal_call(tool: Tool) -> dict[str, Any]:
    """A call of ``tool`` with a plausible value for each required argument."""
    return {"name": tool.name, "arguments": {k: _sample(tool.properties.get(k, {})) for k in tool.required}}


def _sample(schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return "x"
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind in ("integer", "number"):
        low = schema.get("minimum")
        return low if isinstance(low, (int, float)) else 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return "x"


def _stringify(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value
