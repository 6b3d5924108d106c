"""A record's tools and the tool calls its reference expects (docs/tool-calling.md).

One reader for the three places that need them: the dataset validator (``reward.dataset``), the
``tool_call`` grader and ``rft baseline``/``eval`` (which send the tools to Converse as ``toolConfig``).

Tools are OpenAI-style function definitions, the shape AWS's Nova 2 RFT data page documents::

    {"type": "function", "function": {"name": "get_weather", "description": "...",
                                      "parameters": {"type": "object", "properties": {...}}}}

The expected calls come from ``reference_answer`` in any of these shapes:

- AWS's example: ``{"tool_called": "StatRollAPI", "tool_parameters": {"modifier": 2}}``
  (``"tool_called": null`` expects no call);
- a list of calls under ``tool_calls``: ``{"tool_calls": [{"name": ..., "arguments": {...}}]}``, each
  item ``{name, arguments|parameters}`` or OpenAI's ``{"type": "function", "function": {"name",
  "arguments": "<JSON string>"}}`` (``"tool_calls": []`` expects no call);
- the same list as the whole reference (a JSON string holding it, or a list).

Pure functions; ``jsonschema`` is imported only when a schema is checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Keys of a reference object that say "this row expects tool calls (or none)".
REFERENCE_KEYS = ("tool_calls", "tool_called")
#: At most this many expected calls per row (more is a broken reference, and keeps matching cheap).
MAX_EXPECTED_CALLS = 16


@dataclass(frozen=True, slots=True)
class Tool:
    """One declared function: its name, description and JSON Schema for the arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    @property
    def properties(self) -> Mapping[str, Any]:
        props = self.parameters.get("properties")
        return props if isinstance(props, Mapping) else {}

    @property
    def required(self) -> tuple[str, ...]:
        req = self.parameters.get("required")
        return tuple(r for r in req if isinstance(r, str)) if isinstance(req, list) else ()


@dataclass(frozen=True, slots=True)
class ExpectedCall:
    """A call the reference expects: the tool's name and its arguments (an object)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


class ToolSpecError(ValueError):
    """A tool definition or an expected call is malformed; the message names the tool and the key."""


def read_tools(value: Any) -> tuple[Tool, ...]:
    """The tools of a record's ``tools`` value; raise ``ToolSpecError`` naming the first problem.

    Checks the Nova Forge SDK's rules (non-empty list, ``type == "function"``, non-empty name and
    description, ``parameters`` an object schema with ``properties``, unique names) and that
    ``parameters`` is a valid JSON Schema (jsonschema's metaschema)."""
    problems = tool_problems(value)
    if problems:
        raise ToolSpecError(problems[0])
    return tuple(_tool(item) for item in value)


def tools_or_none(value: Any) -> tuple[Tool, ...] | None:
    """The tools, or None when ``value`` is absent or malformed (the grader's lenient reading).

    Remembered per distinct value (every sample of a prompt, and usually every row, shares one)."""
    if value is None:
        return None
    try:
        key = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return None
    if key not in _TOOLS_CACHE:
        if len(_TOOLS_CACHE) >= _CACHE_LIMIT:
            _TOOLS_CACHE.clear()
        try:
            _TOOLS_CACHE[key] = read_tools(value)
        except ToolSpecError:
            _TOOLS_CACHE[key] = None
    return _TOOLS_CACHE[key]


_CACHE_LIMIT = 256
_TOOLS_CACHE: dict[str, tuple[Tool, ...] | None] = {}
_VALIDATORS: dict[str, Any] = {}


def tool_problems(value: Any) -> list[str]:
    """Every problem of a ``tools`` value, one message each (empty when it is valid)."""
    return [message for _, message in classified_tool_problems(value)]


#: The kinds of problem :func:`classified_tool_problems` names (the dataset rules' codes follow them).
TOOL_PROBLEM_KINDS = ("not-list", "definition", "schema", "duplicate")


def classified_tool_problems(value: Any) -> list[tuple[str, str]]:
    """``(kind, message)`` for every problem of a ``tools`` value; ``kind`` is one of
    :data:`TOOL_PROBLEM_KINDS`. Each message names the tool (index and name) and the key."""
    if not isinstance(value, list) or not value:
        kind = "an empty list" if isinstance(value, list) else _json_type(value)
        return [("not-list", f"`tools` is {kind}; it must be a non-empty list of function definitions")]
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        where = f"tools[{index}]"
        if not isinstance(item, Mapping):
            problems.append(("definition", f"{where} is {_json_type(item)}, not an object"))
            continue
        function = item.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if isinstance(name, str) and name.strip():
            where = f"{where} ({name!r})"
        if item.get("type") != "function":
            problems.append(
                ("definition", f'{where}.type is {_short(item.get("type"))}; it must be "function"')
            )
        if not isinstance(function, Mapping):
            problems.append(("definition", f"{where} has no `function` object"))
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(("definition", f"{where}.function.name is missing or empty"))
        elif name in seen:
            problems.append(
                ("duplicate", f"{where}: duplicate tool name {name!r} (also tools[{seen[name]}])")
            )
        else:
            seen[name] = index
        description = function.get("description")
        if not isinstance(description, str) or not description.strip():
            problems.append(("definition", f"{where}.function.description is missing or empty"))
        problems.extend(
            ("schema", f"{where}.function.parameters{p}") for p in schema_problems(function.get("parameters"))
        )
    return problems


def schema_problems(parameters: Any) -> list[str]:
    """Why ``parameters`` is not an object JSON Schema with ``properties`` (messages start with a path)."""
    if not isinstance(parameters, Mapping):
        return [f" is {_json_type(parameters)}; it must be a JSON Schema object"]
    problems = []
    if parameters.get("type") != "object":
        problems.append(f'.type is {_short(parameters.get("type"))}; it must be "object"')
    if not isinstance(parameters.get("properties"), Mapping):
        problems.append(".properties is missing or not an object")
    from jsonschema import exceptions, validators

    try:
        validators.validator_for(parameters).check_schema(parameters)
    except exceptions.SchemaError as exc:
        where = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in exc.absolute_path)
        problems.append(f"{where} is not valid JSON Schema: {exc.message[:160]}")
    except (RecursionError, ValueError, TypeError) as exc:
        problems.append(f" cannot be checked as JSON Schema: {type(exc).__name__}")
    return problems


def _tool(item: Mapping[str, Any]) -> Tool:
    function = item["function"]
    return Tool(function["name"], function["description"], function["parameters"])


def has_expected_calls(reference: Any) -> bool:
    """True when the reference says which tool calls the row expects (one of :data:`REFERENCE_KEYS`)."""
    reference = _decoded(reference)
    if isinstance(reference, Mapping):
        return any(key in reference for key in REFERENCE_KEYS)
    return isinstance(reference, list)


def expected_calls(reference: Any, key: str = "") -> tuple[ExpectedCall, ...]:
    """The calls ``reference`` expects (empty: no call); raise ``ToolSpecError`` when it names none.

    ``key``: read ``reference[key]`` instead of the whole reference."""
    reference = _decoded(reference)
    if key:
        if not isinstance(reference, Mapping) or key not in reference:
            raise ToolSpecError(f"reference_answer has no {key!r}")
        reference = _decoded(reference[key])
    if isinstance(reference, Mapping):
        if "tool_called" in reference:
            name = reference["tool_called"]
            if name is None:
                return ()
            arguments = reference.get("tool_parameters", {})
            if arguments is None:
                arguments = {}
            return (_expected(name, arguments, "tool_called"),)
        if "tool_calls" in reference:
            reference = _decoded(reference["tool_calls"])
            if reference is None:
                return ()
        elif "name" in reference:
            return (_call_item(reference, "reference_answer"),)
        else:
            raise ToolSpecError(
                "reference_answer names no tool call: give `tool_calls` (a list, [] for no call) or "
                "`tool_called` and `tool_parameters`"
            )
    if not isinstance(reference, list):
        raise ToolSpecError(f"the expected tool calls are {_json_type(reference)}, not a list")
    if len(reference) > MAX_EXPECTED_CALLS:
        raise ToolSpecError(f"{len(reference)} expected calls; at most {MAX_EXPECTED_CALLS} are supported")
    return tuple(_call_item(item, f"tool_calls[{i}]") for i, item in enumerate(reference))


def _call_item(item: Any, where: str) -> ExpectedCall:
    if not isinstance(item, Mapping):
        raise ToolSpecError(f"{where} is {_json_type(item)}, not a call object")
    function = item.get("function")
    if isinstance(function, Mapping):  # OpenAI: {"type": "function", "function": {"name", "arguments"}}
        item = function
    name = item.get("name")
    arguments = item["arguments"] if "arguments" in item else item.get("parameters", {})
    return _expected(name, arguments, where)


def _expected(name: Any, arguments: Any, where: str) -> ExpectedCall:
    if not isinstance(name, str) or not name.strip():
        raise ToolSpecError(f"{where}: the tool name is {_short(name)}, not a non-empty string")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):
            raise ToolSpecError(f"{where} ({name!r}): arguments are a string that is not JSON") from None
    if not isinstance(arguments, Mapping):
        raise ToolSpecError(f"{where} ({name!r}): arguments are {_json_type(arguments)}, not an object")
    return ExpectedCall(name, dict(arguments))


def call_problems(call: ExpectedCall, tools: Sequence[Tool] | None) -> list[str]:
    """Why an expected call does not fit the record's tools: an undeclared tool, or arguments that fail
    its schema (each message names the tool and the argument)."""
    if tools is None:
        return []
    by_name = {t.name: t for t in tools}
    tool = by_name.get(call.name)
    if tool is None:
        declared = ", ".join(sorted(by_name)) or "none"
        return [f"expects a call to {call.name!r}, which is not in the record's `tools` ({declared})"]
    problems = [
        f"{call.name!r} argument {arg!r} is not a parameter of the tool"
        for arg in call.arguments
        if arg not in tool.properties
    ]
    problems.extend(f"{call.name!r} {p}" for p in argument_errors(tool, call.arguments))
    return problems


def argument_errors(tool: Tool, arguments: Any, limit: int = 3) -> list[str]:
    """Up to ``limit`` schema violations of ``arguments`` against the tool's parameters schema."""
    try:
        validator = _validator(tool.parameters)
        errors = []
        for error in validator.iter_errors(arguments):
            where = "/".join(str(p) for p in error.absolute_path)
            errors.append(f"argument {where!r}: {error.message[:160]}" if where else error.message[:160])
            if len(errors) >= limit:
                break
        return errors
    except RecursionError:
        return ["arguments nested too deeply to validate"]


def _validator(schema: Mapping[str, Any]) -> Any:
    from jsonschema import validators

    key = json.dumps(schema, sort_keys=True)
    validator = _VALIDATORS.get(key)
    if validator is None:
        if len(_VALIDATORS) >= _CACHE_LIMIT:
            _VALIDATORS.clear()
        validator = _VALIDATORS[key] = validators.validator_for(schema)(schema)
    return validator


def converse_tool_config(tools: Sequence[Tool]) -> dict[str, Any]:
    """The Converse ``toolConfig`` for these tools (bedrock-runtime's ``ToolConfiguration`` shape)."""
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": t.name,
                    "description": t.description,
                    "inputSchema": {"json": dict(t.parameters)},
                }
            }
            for t in tools
        ]
    }


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return value
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _short(value: Any, width: int = 40) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
