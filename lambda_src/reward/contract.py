"""Check a reward Lambda reply against docs/contract.md §1. Used by the job starter's preflight, the
``rft invoke`` command and the tests — one definition of "a valid reply"."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Lambda's synchronous invocation payload limit, request and response alike: 6 MB (AWS Lambda quotas,
#: "Invocation payload (request and response): 6 MB each for synchronous"). The one definition: the CLI,
#: the job starter's preflight and the code runner's client all size their batches under it.
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024

METRIC_TYPES = ("Reward", "Metric")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_reply(event: list[Any], reply: Any, *, score_range: tuple[float, float] = (-1.0, 1.0)) -> list[str]:
    """Every way ``reply`` breaks the contract for ``event``; an empty list when it is valid."""
    if not isinstance(reply, list):
        if isinstance(reply, dict) and "errorMessage" in reply:
            return [f"the function raised {reply.get('errorType', 'an error')}: {reply['errorMessage']}"]
        return [f"the reply is {type(reply).__name__}, not a JSON array"]
    problems: list[str] = []
    if len(reply) != len(event):
        problems.append(f"the reply has {len(reply)} elements for {len(event)} samples")
    low, high = score_range
    for i, element in enumerate(reply):
        where = f"element {i}"
        if not isinstance(element, dict):
            problems.append(f"{where} is {type(element).__name__}, not an object")
            continue
        expected_id = event[i].get("id") if i < len(event) and isinstance(event[i], dict) else None
        if "id" not in element:
            problems.append(f"{where} has no id")
        elif i < len(event) and element["id"] != expected_id and element["id"] != json_safe(expected_id):
            problems.append(
                f"{where} has id {element['id']!r}, expected {expected_id!r} (same order as the event)"
            )
        score = element.get("aggregate_reward_score")
        if not _is_number(score):
            problems.append(f"{where}: aggregate_reward_score {score!r} is not a finite number")
        elif not low <= float(score) <= high:  # type: ignore[arg-type]  # a number: checked above
            problems.append(f"{where}: aggregate_reward_score {score} is outside [{low}, {high}]")
        metrics = element.get("metrics_list", [])
        if not isinstance(metrics, list):
            problems.append(f"{where}: metrics_list is {type(metrics).__name__}, not a list")
            continue
        for j, item in enumerate(metrics):
            if not isinstance(item, dict):
                problems.append(f"{where}: metrics_list[{j}] is not an object")
            elif not isinstance(item.get("name"), str) or not item.get("name"):
                problems.append(f"{where}: metrics_list[{j}] has no name")
            elif not _is_number(item.get("value")):
                problems.append(
                    f"{where}: metric {item['name']!r} value {item.get('value')!r} is not a finite number"
                )
            elif item.get("type") not in METRIC_TYPES:
                problems.append(
                    f"{where}: metric {item['name']!r} type {item.get('type')!r} is not Reward or Metric"
                )
    return problems


_ID_DEPTH = 32  # an id nested deeper than this is echoed as a placeholder string (never a RecursionError)
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` in a form that strict JSON can carry, unchanged whenever it already can.

    The reply must pass ``json.dumps(reply, allow_nan=False, ensure_ascii=False).encode("utf-8")`` for
    any input (docs/time-limits.md, "Strict JSON"). Echo rules: a lone surrogate in a string becomes the
    six characters of its escape (``"\\ud800"``); NaN, Infinity and -Infinity (``1e309`` parses to
    Infinity) become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; an integer too long to
    print becomes ``"<integer of N bits>"``; containers deeper than 32 levels are cut there with the
    string ``"<nested too deep>"``; any other non-JSON value becomes its ``repr``, shortened.
    """
    kind = type(value)
    if kind is str:
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return "".join(c if not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in value)
    if value is None or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else _NON_FINITE[repr(value)]
    if kind is int:
        try:
            str(value)
            return value
        except ValueError:  # over sys.get_int_max_str_digits()
            return f"<integer of {value.bit_length()} bits>"
    if depth >= _ID_DEPTH:
        return "<nested too deep>"
    if kind is list or kind is tuple:
        return [json_safe(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(json_safe(k, depth + 1)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (int, float)):  # subclasses: as their plain value
        return json_safe(float(value) if isinstance(value, float) else int(value), depth)
    return repr(value)[:200]
