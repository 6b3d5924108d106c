"""``tool_call``: the response calls the expected tools with the expected arguments — exactly, and no more.

The calls are read from the response by ``reward.tool_calls`` (OpenAI ``tool_calls``, Converse
``toolUse`` blocks, then call-shaped text); the expected calls and the record's tools by
``reward.tool_specs`` (``reference_answer`` in AWS's ``tool_called``/``tool_parameters`` shape or a
``tool_calls`` list; ``tools`` from the record, which reaches the reward in ``metadata``).

Formula (after BFCL's AST checker: exact where the API is exact, and no way to win by calling more):

- calls are matched to expected calls one-to-one: the optimal assignment (order-free), or position by
  position with ``ordered = true``;
- a matched call is **exact** when it names the expected tool, the tool is declared in the record's
  ``tools``, it invents no argument (every argument is a parameter of the tool), every required
  argument is present, the arguments are valid against the tool's JSON Schema (jsonschema), and every
  value equals the expected one — an argument the reference leaves out must equal the schema's
  ``default`` or be absent, and one the reference gives with the schema's default may be left out;
- credit 1 only when there are as many calls as expected calls and every pair is exact; a correct
  "no call" (the reference expects ``[]`` / ``tool_called: null`` and the response calls nothing: a text
  answer, or an explicit empty call list ``[]``) earns the same 1 — an empty or contentless reply (``""``,
  ``":"``) is ``unscorable``;
- otherwise 0 — unless ``partial_credit = true``: then a response that calls no extra or undeclared
  tool, invents no argument and whose calls are all schema-valid earns
  ``partial_max x (values right / values expected)`` (an argument the reference leaves out, given a value
  other than its default, disqualifies it like an invented one), summed over expected calls (a missing call adds
  nothing) — always below ``partial_max`` < 1. Hedging (extra calls), calling every tool, invented
  arguments, schema-invalid (e.g. string-typed) values and calls when none is expected earn 0 even then.

Values: strings equal after trimming, Unicode NFKC and case-folding (``strings = "exact"``, an argument in
``exact_arguments``, or a schema ``enum``/``const``/``pattern``/``format`` make them exact); numbers by
value (an int is accepted for a number: ``5 == 5.0``); booleans only equal booleans; arrays in order
(order-free when the schema says ``uniqueItems``); objects key by key. No string<->number or
string<->boolean coercion unless ``coerce = true`` (then ``"5"`` counts as ``5`` for an integer
parameter, before the schema is checked).

Metrics (``<dimension>.<name>``): ``shape.<shape>`` (which shape was read: ``openai``, ``converse``,
``tagged``, ``json``, ``python``, ``text`` = no call, ``empty``), ``calls``, ``expected_calls``,
``selection_precision`` and ``selection_recall`` (over the multiset of tool names), ``required_present``,
``values_equal``, ``no_invented``, ``schema_valid`` and ``exact``.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.text import has_content
from reward.tool_calls import ToolCall, ToolCalls, read_tool_calls, strip_reasoning
from reward.tool_specs import (
    ExpectedCall,
    Tool,
    ToolSpecError,
    argument_errors,
    expected_calls,
    tools_or_none,
)

_MISSING = object()
_MAX_VALUE_DEPTH = 32


@dataclass(frozen=True)
class ToolCallParams:
    ordered: bool = False  # calls must come in the reference's order
    partial_credit: bool = False  # schema-valid calls of the right tools with some wrong values earn a part
    partial_max: float = 0.5  # the most partial credit pays (< 1: only an exact match earns 1)
    coerce: bool = False  # accept "5" for 5 and "true" for true (and 5 for "5")
    strings: Literal["normalized", "exact"] = "normalized"  # how string values are compared
    exact_arguments: tuple[str, ...] = ()  # argument names whose strings are compared exactly
    text_calls: bool = True  # read calls written as text (JSON, <tool_call> blocks) when none is structured
    python_calls: bool = False  # also read Python-call syntax, e.g. get_weather(city="Paris")
    reference_key: str = ""  # read the expected calls from reference_answer[reference_key]

    def __post_init__(self) -> None:
        if not 0 < self.partial_max < 1:
            raise ParamError("partial_max", "'partial_max' must be above 0 and below 1 (1 is an exact match)")
        if self.python_calls and not self.text_calls:
            raise ParamError("python_calls", "'python_calls' needs 'text_calls' (Python calls are text)")


@dataclass(frozen=True, slots=True)
class CallCheck:
    """How one call compares with one expected call."""

    readable: bool
    name_ok: bool
    declared: bool
    invented: tuple[str, ...]
    required_ok: bool
    schema_ok: bool
    values_right: int
    values_total: int
    unasked: int = 0  # arguments the reference leaves out, given a value other than the schema default

    @property
    def sound(self) -> bool:
        """Readable, the right declared tool, nothing invented, required arguments there, schema-valid."""
        return (
            self.readable
            and self.name_ok
            and self.declared
            and not self.invented
            and self.required_ok
            and self.schema_ok
        )

    @property
    def exact(self) -> bool:
        return self.sound and self.values_right == self.values_total

    @property
    def clean(self) -> bool:
        """Right tool, nothing invented, schema-valid: what partial credit asks before it pays."""
        return self.sound and not self.unasked

    @property
    def values_fraction(self) -> float:
        return self.values_right / self.values_total if self.values_total else 1.0

    @property
    def rank(self) -> float:
        """What the assignment maximizes: exact pairs first, then the right tool, then right values."""
        return 4.0 * self.exact + 2.0 * self.name_ok + self.values_fraction * self.name_ok


class ToolCallGrader(Grader):
    name = "tool_call"
    Params = ToolCallParams
    needs_reference = True
    # Not ``reads_answer``: a structured call comes with no text at all, so a spec's ``answer_after`` must
    # not make it unscorable; the reader drops reasoning blocks from text itself.
    reads_answer = False

    def grade(self, sample: Sample) -> Grade:
        p: ToolCallParams = self.params
        try:
            expected = expected_calls(sample.reference, p.reference_key)
        except ToolSpecError as exc:
            return Grade.no_reference(f"reference_answer: {exc}")
        raw_tools = sample.metadata.get("tools") if isinstance(sample.metadata, Mapping) else None
        tools = tools_or_none(raw_tools)
        if p.text_calls:
            read = read_tool_calls(sample.response_message, sample.response, python=p.python_calls)
        else:  # structured calls only: any text is a plain answer
            read = read_tool_calls(sample.response_message, "")
            if not read.calls and (sample.response or "").strip():
                read = ToolCalls((), "text")
        calls = read.calls
        metrics: dict[str, float] = {
            f"shape.{read.shape}": 1.0,
            "calls": float(len(calls)),
            "expected_calls": float(len(expected)),
        }
        if not expected:
            if not calls:
                # A deliberate no-call: a text answer (with words in it) or an explicit empty call list.
                # An empty or contentless reply (":", whitespace) answers nothing.
                if read.shape != "json" and not has_content(strip_reasoning(sample.response or "")):
                    return Grade.unscorable("no call, but no answer either", **metrics, exact=0.0)
                return Grade.right("no call, as expected", **metrics, exact=1.0)
            names = ", ".join(sorted({c.name or "?" for c in calls}))[:120]
            return Grade.wrong(f"called {names} when no call is expected", **metrics, exact=0.0)
        if not calls:
            if read.shape == "empty":
                return Grade.unscorable("empty response: no tool call", **metrics, exact=0.0)
            return Grade.wrong(f"no tool call; expected {_names(expected)}", **metrics, exact=0.0)
        return self._compare(calls, expected, tools, metrics)

    def _compare(
        self,
        calls: Sequence[ToolCall],
        expected: Sequence[ExpectedCall],
        tools: Sequence[Tool] | None,
        metrics: dict[str, float],
    ) -> Grade:
        p: ToolCallParams = self.params
        by_name = {t.name: t for t in tools} if tools is not None else None
        checks = [[self._check(c, e, by_name) for e in expected] for c in calls]
        if p.ordered:
            pairs = [(i, i) for i in range(min(len(calls), len(expected)))]
        else:
            pairs = best_assignment([[check.rank for check in row] for row in checks])
        matched = [checks[i][j] for i, j in pairs]
        got_names = Counter(c.name for c in calls)
        want_names = Counter(e.name for e in expected)
        common = sum((got_names & want_names).values())
        invented = any(
            c.problem == "" and (by_name is not None and c.name not in by_name) for c in calls
        ) or any(check.invented for check in matched)
        values_right = sum(check.values_fraction for check in matched)
        metrics.update(
            selection_precision=common / len(calls),
            selection_recall=common / len(expected),
            required_present=sum(check.required_ok for check in matched) / len(expected),
            values_equal=values_right / len(expected),
            no_invented=0.0 if invented else 1.0,
            schema_valid=sum(check.schema_ok and check.readable for check in matched) / len(calls),
        )
        if len(calls) == len(expected) and all(check.exact for check in matched):
            return Grade(1.0, reason="", metrics={**metrics, "exact": 1.0})
        metrics["exact"] = 0.0
        reason = _why(calls, expected, pairs, checks)
        if (
            p.partial_credit
            and len(calls) <= len(expected)
            and len(matched) == len(calls)
            and all(check.clean for check in matched)
        ):
            return Grade.partial(p.partial_max * values_right / len(expected), reason, **metrics)
        return Grade.wrong(reason, **metrics)

    def _check(self, call: ToolCall, want: ExpectedCall, tools: Mapping[str, Tool] | None) -> CallCheck:
        p: ToolCallParams = self.params
        if call.problem:
            return CallCheck(
                False, call.name == want.name, False, (), False, False, 0, max(1, len(want.arguments))
            )
        tool = tools.get(call.name) if tools is not None else None
        declared = tools is None or tool is not None
        properties: Mapping[str, Any] = tool.properties if tool is not None else {}
        known = properties if tool is not None else want.arguments
        arguments: Mapping[str, Any] = call.arguments
        if p.coerce and tool is not None:
            arguments = coerce_arguments(arguments, properties)
        invented = tuple(sorted(k for k in arguments if k not in known))
        required = tool.required if tool is not None else tuple(want.arguments)
        required_ok = all(k in arguments for k in required)
        schema_ok = tool is None or not argument_errors(tool, arguments, limit=1)
        right = total = unasked = 0
        if call.name == want.name:
            for key, value in want.arguments.items():
                total += 1
                schema = properties.get(key)
                if key not in arguments and isinstance(schema, Mapping) and "default" in schema:
                    # left out, and the reference asks for the default: the same call
                    right += self._equal(schema["default"], value, schema, key)
                    continue
                right += self._equal(arguments.get(key, _MISSING), value, schema, key)
            for key, value in arguments.items():
                if key in want.arguments or key in invented:
                    continue
                schema = properties.get(key)
                total += 1
                has_default = isinstance(schema, Mapping) and "default" in schema
                is_default = has_default and self._equal(value, schema["default"], schema, key)  # type: ignore[index]
                right += is_default
                unasked += not is_default
        else:
            total = max(1, len(want.arguments))
        return CallCheck(
            True, call.name == want.name, declared, invented, required_ok, schema_ok, right, total, unasked
        )

    def _equal(self, got: Any, want: Any, schema: Any, key: str) -> bool:
        p: ToolCallParams = self.params
        exact = p.strings == "exact" or key in p.exact_arguments
        return values_equal(got, want, schema, exact_strings=exact, coerce=p.coerce)


def values_equal(
    got: Any,
    want: Any,
    schema: Any = None,
    *,
    exact_strings: bool = False,
    coerce: bool = False,
    _depth: int = 0,
) -> bool:
    """One argument value against the expected one, under the rules of the module docstring."""
    if got is _MISSING or _depth > _MAX_VALUE_DEPTH:
        return False
    schema = schema if isinstance(schema, Mapping) else {}
    if isinstance(want, bool):
        if coerce and isinstance(got, str):
            got = {"true": True, "false": False}.get(got.strip().lower(), got)
        return isinstance(got, bool) and got == want
    if isinstance(want, (int, float)):
        if coerce and isinstance(got, str):
            got = _number(got)
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return False
        return got == want or (math.isfinite(got) and math.isclose(got, want, rel_tol=1e-9, abs_tol=0.0))
    if isinstance(want, str):
        if coerce and isinstance(got, (int, float)) and not isinstance(got, bool):
            number = _number(want)
            return number is not None and math.isclose(got, number, rel_tol=1e-9)
        if not isinstance(got, str):
            return False
        if exact_strings or any(k in schema for k in ("enum", "const", "pattern", "format")):
            return got == want
        return _normalized(got) == _normalized(want)
    if want is None:
        return got is None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return False
        items = schema.get("items")
        if schema.get("uniqueItems") is True:
            left = list(got)
            for w in want:
                hit = next(
                    (
                        i
                        for i, g in enumerate(left)
                        if values_equal(
                            g, w, items, exact_strings=exact_strings, coerce=coerce, _depth=_depth + 1
                        )
                    ),
                    None,
                )
                if hit is None:
                    return False
                left.pop(hit)
            return True
        return all(
            values_equal(g, w, items, exact_strings=exact_strings, coerce=coerce, _depth=_depth + 1)
            for g, w in zip(got, want)
        )
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return False
        properties = schema.get("properties") if isinstance(schema.get("properties"), Mapping) else {}
        for key in got:
            if key in want:
                continue
            sub = properties.get(key)
            if not (
                isinstance(sub, Mapping)
                and "default" in sub
                and values_equal(got[key], sub["default"], sub, _depth=_depth + 1)
            ):
                return False
        return all(
            values_equal(
                got.get(k, _MISSING),
                w,
                properties.get(k),
                exact_strings=exact_strings,
                coerce=coerce,
                _depth=_depth + 1,
            )
            for k, w in want.items()
        )
    return False


def coerce_arguments(arguments: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level arguments converted to the type their schema names (``"5"`` -> 5 for an integer,
    ``"true"`` -> True for a boolean, 5 -> ``"5"`` for a string); others unchanged (``coerce = true``)."""
    out = dict(arguments)
    for key, value in arguments.items():
        schema = properties.get(key)
        kind = schema.get("type") if isinstance(schema, Mapping) else None
        if isinstance(value, str) and kind in ("integer", "number"):
            number = _number(value)
            if number is not None and (kind == "number" or float(number).is_integer()):
                out[key] = int(number) if kind == "integer" else number
        elif isinstance(value, str) and kind == "boolean":
            out[key] = {"true": True, "false": False}.get(value.strip().lower(), value)
        elif kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = str(value)
    return out


def best_assignment(scores: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Row/column pairs maximizing the total score (Hungarian algorithm, O(n^3)); every row or every
    column is paired, whichever is fewer."""
    rows = len(scores)
    cols = len(scores[0]) if rows else 0
    if not rows or not cols:
        return []
    n = max(rows, cols)
    top = max(max(r) for r in scores)
    cost = [[(top - scores[i][j]) if i < rows and j < cols else top for j in range(n)] for i in range(n)]
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (n + 1)
    match = [0] * (n + 1)  # match[j] = row assigned to column j (1-based)
    way = [0] * (n + 1)
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        minv = [inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = match[j0], inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    pairs = [
        (match[j] - 1, j - 1) for j in range(1, n + 1) if match[j] and match[j] - 1 < rows and j - 1 < cols
    ]
    return sorted(pairs)


def _number(text: str) -> float | int | None:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _names(calls: Sequence[ExpectedCall]) -> str:
    return ", ".join(c.name for c in calls)[:120]


def _why(
    calls: Sequence[ToolCall],
    expected: Sequence[ExpectedCall],
    pairs: Sequence[tuple[int, int]],
    checks: Sequence[Sequence[CallCheck]],
) -> str:
    """The first thing wrong, in a few words."""
    if len(calls) > len(expected):
        return f"{len(calls)} calls for {len(expected)} expected: extra calls earn nothing"
    for i, j in pairs:
        check, call, want = checks[i][j], calls[i], expected[j]
        if not check.readable:
            return f"unreadable call: {call.problem}"[:200]
        if not check.name_ok:
            return f"called {call.name[:60]!r}, expected {want.name[:60]!r}"
        if not check.declared:
            return f"{call.name[:60]!r} is not a declared tool"
        if check.invented:
            return f"{call.name[:60]!r}: invented argument(s) {', '.join(check.invented)[:120]}"
        if not check.required_ok:
            return f"{call.name[:60]!r}: a required argument is missing"
        if not check.schema_ok:
            return f"{call.name[:60]!r}: arguments fail the tool's schema"
        if check.values_right < check.values_total:
            return f"{call.name[:60]!r}: {check.values_total - check.values_right} argument value(s) differ"
    if len(calls) < len(expected):
        return f"{len(calls)} calls for {len(expected)} expected"
    return "calls out of order" if pairs else "no call matches"
