"""Strict, bounded JSON for what a model writes: one parser for every grader that reads JSON out of a
response (``json``, ``tool_call``). Strict: no duplicate keys (``{"a": 1, "a": 2}`` hedges), no
``NaN``/``Infinity``. Bounded: nesting is checked on the text first, so ``json`` never recurses deeply."""

from __future__ import annotations

import json
from typing import Any


class JsonRejected(ValueError):
    """Why a text is not acceptable JSON. ``kind``: ``"none"`` (not JSON at all) or ``"ambiguous"`` (JSON
    that could mean two things: a repeated key, a non-finite constant, nesting past the limit)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def nesting_exceeds(text: str, limit: int) -> bool:
    """A cheap upper bound on nesting (brackets outside strings), in one pass: True past ``limit``."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def strict_loads(text: str, *, max_depth: int) -> Any:
    """The JSON value of ``text``; ``JsonRejected`` saying why not."""

    def no_constants(name: str) -> Any:
        raise JsonRejected("ambiguous", f"{name} is not valid JSON")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise JsonRejected(
                    "ambiguous", f"duplicate key {key[:40]!r}: an object must say each field once"
                )
            out[key] = value
        return out

    if nesting_exceeds(text, max_depth):
        raise JsonRejected("ambiguous", f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except JsonRejected:
        raise
    except (ValueError, RecursionError, MemoryError) as exc:  # JSONDecodeError, int digit limit
        raise JsonRejected("none", f"invalid JSON: {str(exc)[:120]}") from None
