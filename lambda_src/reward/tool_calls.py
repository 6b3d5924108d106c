"""Reading a response's tool calls from every shape a call can arrive in (docs/tool-calling.md).

How a tool call reaches the reward Lambda is not documented by AWS, so the reader accepts, in order:

1. **structured calls** on the last assistant message: OpenAI ``tool_calls``
   (``{"type": "function", "function": {"name", "arguments": "<JSON string>" | {...}}}``) and Converse
   ``toolUse`` content blocks (``{"toolUse": {"toolUseId", "name", "input"}}``; Anthropic-style
   ``{"type": "tool_use", "name", "input"}`` too). Both are read when both are present (a hedge across
   shapes is still two calls). When a structured call exists, the text is not read at all.
2. **call-shaped text**, with reasoning (``<thinking>…</thinking>``, ``<think>…</think>``) removed:
   ``<tool_call>…</tool_call>`` blocks (prose around them allowed), else the whole text (a code fence
   around it stripped) as a JSON call object ``{"name", "arguments"|"parameters"}``, a JSON array of them,
   or ``{"tool_calls": [...]}``.
3. **Python-call syntax** (``get_weather(city="Paris")`` or ``[f(a=1), g(b=2)]``) only when the caller
   enables it: parsed with ``ast`` (never evaluated), literal arguments only.

Nothing here raises for what a response contains: a call that cannot be read is returned as a call
with ``problem`` set (it counts as a call, and a wrong one), never dropped, and the work is bounded
(at most :data:`MAX_CALLS` calls, :data:`MAX_ARGUMENT_CHARS` characters of arguments per call, JSON
nested at most :data:`MAX_DEPTH` levels). ``shape`` says which shape was read, for the
``tool_call.shape.<name>`` metric.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reward.strict_json import JsonRejected, strict_loads

#: Calls read per response; more are counted (as unreadable calls) but not parsed.
MAX_CALLS = 32
#: Characters of one call's arguments (JSON text) that are parsed; longer arguments are unreadable.
MAX_ARGUMENT_CHARS = 100_000
#: Nesting of a call's arguments; deeper is unreadable.
MAX_DEPTH = 32
#: Characters of text parsed as Python calls.
MAX_PYTHON_CHARS = 20_000

#: The shapes the reader names (``ToolCalls.shape``), in the order they are tried.
SHAPES = ("openai", "converse", "openai_converse", "tagged", "json", "python", "text", "empty")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call read from a response. ``arguments`` is an object when readable; ``problem`` says why
    the call could not be read (then the call is wrong whatever its name)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """Every call of a response and the shape they were read from (see :data:`SHAPES`)."""

    calls: tuple[ToolCall, ...]
    shape: str

    @property
    def unreadable(self) -> int:
        return sum(1 for c in self.calls if c.problem)


def read_tool_calls(
    message: Mapping[str, Any] | None, text: str | None, *, python: bool = False
) -> ToolCalls:
    """The calls of a response: ``message`` is the raw last assistant message (or None), ``text`` its
    text (the event's ``Sample.response``). ``python`` also reads Python-call syntax from the text."""
    structured: list[ToolCall] = []
    shapes = []
    if isinstance(message, Mapping):
        openai = message.get("tool_calls")
        if openai is not None and openai != []:
            structured.extend(_openai_calls(openai))
            shapes.append("openai")
        converse = _converse_calls(message.get("content"))
        if converse:
            structured.extend(converse)
            shapes.append("converse")
    if structured:
        return ToolCalls(_capped(structured), "_".join(shapes))
    return read_text_calls(text or "", python=python)


def read_text_calls(text: str, *, python: bool = False) -> ToolCalls:
    """Calls written as text (step 2 and 3 of the module docstring); shape ``text`` when there is none
    (a plain answer) and ``empty`` for an empty response."""
    body = strip_reasoning(text).strip()
    if not body:
        return ToolCalls((), "empty")
    if "<tool_call>" in body:
        return ToolCalls(_capped(_tagged_calls(body)), "tagged")
    inner = _unfenced(body)
    if inner[:1] in ("{", "["):
        value = _loads(inner)
        if value is not _INVALID:
            calls = _json_calls(value)
            if calls is not None:
                return ToolCalls(_capped(calls), "json")
    if python:
        calls = _python_calls(inner)
        if calls is not None:
            return ToolCalls(_capped(calls), "python")
    return ToolCalls((), "text")


# --------------------------------------------------------------------------------------------------
# Structured calls.


def _openai_calls(value: Any) -> list[ToolCall]:
    if not isinstance(value, list):
        return [ToolCall("", problem=f"`tool_calls` is {type(value).__name__}, not a list")]
    calls = []
    for item in value[: MAX_CALLS + 1]:
        if not isinstance(item, Mapping):
            calls.append(ToolCall("", problem="a tool call is not an object"))
            continue
        function = item.get("function")
        source = function if isinstance(function, Mapping) else item
        arguments = source["arguments"] if "arguments" in source else source.get("parameters", {})
        calls.append(_call(source.get("name"), arguments))
    return calls


def _converse_calls(content: Any) -> list[ToolCall]:
    if not isinstance(content, list):
        return []
    calls = []
    for block in content[: 4 * MAX_CALLS]:
        if not isinstance(block, Mapping):
            continue
        use = block.get("toolUse")
        if isinstance(use, Mapping):
            calls.append(_call(use.get("name"), use.get("input", {})))
        elif block.get("type") == "tool_use":
            calls.append(_call(block.get("name"), block.get("input", {})))
    return calls


def _call(name: Any, arguments: Any) -> ToolCall:
    label = name if isinstance(name, str) else ""
    if not label.strip():
        return ToolCall("", problem="a tool call has no name")
    if len(label) > 256:
        return ToolCall(label[:256], problem="the tool name is over 256 characters")
    if isinstance(arguments, str):
        if not arguments.strip():
            arguments = {}
        elif len(arguments) > MAX_ARGUMENT_CHARS:
            return ToolCall(label, problem=f"arguments over {MAX_ARGUMENT_CHARS} characters")
        else:
            arguments = _loads(arguments)
            if arguments is _INVALID:
                return ToolCall(label, problem="arguments are not valid JSON")
    elif arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        return ToolCall(label, problem=f"arguments are {type(arguments).__name__}, not an object")
    if _too_deep(arguments, MAX_DEPTH):
        return ToolCall(label, problem=f"arguments nested deeper than {MAX_DEPTH} levels")
    return ToolCall(label, dict(arguments))


def _capped(calls: list[ToolCall]) -> tuple[ToolCall, ...]:
    if len(calls) <= MAX_CALLS:
        return tuple(calls)
    extra = ToolCall("", problem=f"more than {MAX_CALLS} calls")
    return (*calls[:MAX_CALLS], extra)


# --------------------------------------------------------------------------------------------------
# Calls written as text.

_REASONING_TAGS = ("thinking", "think", "reasoning")
_FENCE = re.compile(r"\A```[ \t]*[A-Za-z0-9_+-]*[ \t]*\r?\n(.*?)\r?\n?[ \t]*```\Z", re.DOTALL)
_TAG_OPEN, _TAG_CLOSE = "<tool_call>", "</tool_call>"


def strip_reasoning(text: str) -> str:
    """``text`` without closed reasoning blocks (``<thinking>``, ``<think>``, ``<reasoning>``, any case); an
    unclosed one hides everything after it. Linear in the text, however many tags it holds."""
    lower = text.lower()
    if "<think" not in lower and "<reasoning" not in lower:
        return text
    found: dict[str, int] = {}  # tag -> its next opening at or after ``position`` (-1: none left)
    kept: list[str] = []
    position = 0
    while True:
        for tag in _REASONING_TAGS:
            at = found.get(tag)
            if at is None or -1 < at < position:
                found[tag] = lower.find(f"<{tag}>", position)
        opened = [(at, tag) for tag, at in found.items() if at >= position]
        if not opened:
            kept.append(text[position:])
            return "".join(kept)
        start, tag = min(opened)
        kept.append(text[position:start])
        end = lower.find(f"</{tag}>", start)
        if end < 0:
            return "".join(kept)
        position = end + len(tag) + 3


def _unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text


def _tagged_calls(text: str) -> list[ToolCall]:
    calls: list[ToolCall] = []
    position = 0
    while len(calls) <= MAX_CALLS:
        start = text.find(_TAG_OPEN, position)
        if start < 0:
            break
        end = text.find(_TAG_CLOSE, start)
        if end < 0:
            calls.append(ToolCall("", problem="a <tool_call> block is not closed"))
            break
        inner = _unfenced(text[start + len(_TAG_OPEN) : end].strip())
        position = end + len(_TAG_CLOSE)
        value = _loads(inner)
        found = _json_calls(value) if value is not _INVALID else None
        if not found:
            calls.append(ToolCall("", problem="a <tool_call> block holds no readable call"))
        else:
            calls.extend(found)
    return calls


def _json_calls(value: Any) -> list[ToolCall] | None:
    """The calls a JSON value spells, or None when it is not call-shaped (a plain JSON answer)."""
    if isinstance(value, Mapping):
        if "tool_calls" in value and isinstance(value["tool_calls"], list):
            return _openai_calls(value["tool_calls"]) if value["tool_calls"] else []
        function = value.get("function")
        source = function if isinstance(function, Mapping) else value
        if isinstance(source.get("name"), str) and ("arguments" in source or "parameters" in source):
            arguments = source["arguments"] if "arguments" in source else source["parameters"]
            return [_call(source["name"], arguments)]
        return None
    if isinstance(value, list):
        if not value:
            return []
        calls: list[Any] = []
        for item in value[: MAX_CALLS + 1]:
            found = _json_calls(item) if isinstance(item, Mapping) else None
            if not found:
                return None if not calls and item is value[0] else [*calls, _unreadable_item()]
            calls.extend(found)
        return calls
    return None


def _unreadable_item() -> ToolCall:
    return ToolCall("", problem="an item of the call list is not a call")


def _python_calls(text: str) -> list[ToolCall] | None:
    if len(text) > MAX_PYTHON_CHARS:
        return None
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    nodes = tree.elts if isinstance(tree, (ast.List, ast.Tuple)) else [tree]
    if not nodes or not all(isinstance(n, ast.Call) for n in nodes):
        return None
    calls = []
    for node in nodes[: MAX_CALLS + 1]:
        name = _dotted(node.func)  # type: ignore[attr-defined]
        if name is None or node.args:  # type: ignore[attr-defined]
            calls.append(ToolCall(name or "", problem="positional arguments or an unnamed function"))
            continue
        arguments: dict[str, Any] = {}
        problem = ""
        for keyword in node.keywords:  # type: ignore[attr-defined]
            if keyword.arg is None:
                problem = "**kwargs in a call"
                break
            try:
                arguments[keyword.arg] = ast.literal_eval(keyword.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                problem = f"argument {keyword.arg!r} is not a literal"
                break
        calls.append(ToolCall(name, problem=problem) if problem else _call(name, arguments))
    return calls


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


# --------------------------------------------------------------------------------------------------
# Bounded JSON.

_INVALID = object()


def _loads(text: str) -> Any:
    """A JSON value, or ``_INVALID`` (bad JSON, NaN/Infinity, duplicate keys, too long or too deep)."""
    if len(text) > MAX_ARGUMENT_CHARS * 4:
        return _INVALID
    try:
        return strict_loads(text, max_depth=MAX_DEPTH + 2)
    except JsonRejected:
        return _INVALID


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False
