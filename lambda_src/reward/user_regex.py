"""Regular expressions a spec supplies (``answer_pattern``, ``regex``'s ``must_match``/``must_not_match``,
``format``'s ``final_line``), run with a time limit.

Python's ``re`` runs in C with no time limit, so one crafted response against a pattern with overlapping
alternatives under a repeat (``((?:\\d+|\\d+\\.)*\\d+)``) could hold the handler's thread past the batch
deadline and lose the whole batch. These patterns run on the ``regex`` library (the same syntax as ``re``
for everything a spec uses, plus possessive and atomic groups), whose matching takes a ``timeout``: a match
that overruns raises ``PatternTimeout``, which the grading boundary charges to *that* response (status
``failed``, scored like a wrong answer) while the rest of the batch is graded. The obvious catastrophic
shapes are still rejected when the spec loads (``reward.graders.regex``), so a spec author hears about
them before a training run does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import regex

#: Seconds one match (or one ``finditer`` sweep) of a spec's pattern may take on one response. Honest
#: patterns take microseconds; anything near this is a pattern that backtracks on this response.
TIMEOUT_S = 0.25


class PatternTimeout(Exception):
    """A spec's pattern overran ``TIMEOUT_S`` on a response (the response's failure, not ours)."""


class UserPattern:
    """A spec's pattern, compiled once; every match is bounded by ``timeout_s``."""

    __slots__ = ("_compiled", "pattern", "timeout_s")

    def __init__(self, pattern: str, flags: int = 0, *, timeout_s: float | None = None) -> None:
        """``flags``: ``re`` flags (IGNORECASE, MULTILINE, DOTALL; same values in ``regex``); ``timeout_s``:
        the limit of one match (default: the module's ``TIMEOUT_S`` at the time of the match).
        Raises ``re.error`` when ``pattern`` is not a valid regular expression."""
        re.compile(pattern, flags)  # the syntax check users know (and its messages)
        self._compiled: Any = regex.compile(pattern, flags | regex.VERSION0)
        self.pattern = pattern
        self.timeout_s = timeout_s

    @property
    def groups(self) -> int:
        return int(self._compiled.groups)

    def search(self, text: str) -> Any:
        return self._bounded(self._compiled.search, text)

    def fullmatch(self, text: str) -> Any:
        return self._bounded(self._compiled.fullmatch, text)

    def finditer(self, text: str) -> Iterator[Any]:
        """Every match, in order (the whole sweep shares one time limit)."""
        return iter(self._bounded(lambda t, timeout: list(self._compiled.finditer(t, timeout=timeout)), text))

    def _bounded(self, method: Any, text: str) -> Any:
        limit = TIMEOUT_S if self.timeout_s is None else self.timeout_s
        try:
            return method(text, timeout=limit)
        except TimeoutError:
            raise PatternTimeout(
                f"the spec's pattern {self.pattern[:80]!r} ran over {limit:g} s on this response "
                "(catastrophic backtracking): charged to the response"
            ) from None

    def __repr__(self) -> str:
        return f"UserPattern({self.pattern!r})"


def risky_shape(pattern: str, flags: int = 0) -> str | None:
    """What makes ``pattern`` able to backtrack exponentially, said for the spec author — or None.

    Two shapes are rejected when a spec loads (the time limit still guards everything else):
    - an unbounded repeat whose body is made only of repeats, one of them unbounded: ``(a+)+``,
      ``(\\w+\\s*)*``, ``(x+,?)+``. A body that also needs a fixed character (``(?:,\\d+)*``) splits the
      input unambiguously: allowed;
    - an unbounded repeat over alternatives that can start the same way while one of them repeats:
      ``((?:\\d+|\\d+\\.)*\\d+)`` — each digit can be taken by either branch, so a near-miss tries them all.

    Uses CPython's regex parser (``re._parser``, stable 3.11-3.14). If that internal module changes, the
    check is skipped rather than breaking spec loading (the time limit remains).
    """
    try:
        from re import _constants as constants  # type: ignore[attr-defined]
        from re import _parser as parser  # type: ignore[attr-defined]

        tree = parser.parse(pattern, flags)
        repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT}
        # Items that consume input without backtracking choices: one character, or a possessive/atomic part.
        fixed = {
            constants.LITERAL,
            constants.NOT_LITERAL,
            constants.IN,
            constants.ANY,
            constants.CATEGORY,
            constants.POSSESSIVE_REPEAT,
            constants.ATOMIC_GROUP,
        }
    except Exception:
        return None

    def flat(items: Any) -> list[Any]:
        out = []
        for op, arg in items:
            if op is constants.SUBPATTERN:
                out += flat(arg[-1])
            else:
                out.append((op, arg))
        return out

    def has_unbounded(items: Any) -> bool:
        for op, arg in flat(items):
            if op in repeats and (arg[1] == constants.MAXREPEAT or has_unbounded(arg[2])):
                return True
            if op is constants.BRANCH and any(has_unbounded(b) for b in arg[1]):
                return True
        return False

    def first(items: Any) -> str:
        """A comparable description of what an alternative starts with ('' when unknown)."""
        for op, arg in flat(items):
            if op in repeats:
                return first(arg[2]) if arg[0] > 0 else ""
            return repr((op, arg))
        return ""

    def overlapping_branch(items: Any) -> bool:
        for op, arg in flat(items):
            if op is constants.BRANCH:
                starts = [first(b) for b in arg[1]]
                known = [s for s in starts if s]
                if len(known) != len(set(known)) and any(has_unbounded(b) for b in arg[1]):
                    return True
                if any(overlapping_branch(b) for b in arg[1]):
                    return True
        return False

    def walk(items: Any) -> str | None:
        for op, arg in flat(items):
            if op in repeats:
                _, high, body = arg
                if high == constants.MAXREPEAT:
                    ambiguous_body = not any(o in fixed for o, _ in flat(body))
                    if ambiguous_body and has_unbounded(body):
                        return (
                            "nests unbounded repeats (like (a+)+), which can backtrack for hours on a crafted "
                            "response; rewrite it, or make the inner repeat possessive (\\w++) or atomic ((?>...))"
                        )
                    if overlapping_branch(body):
                        return (
                            "repeats alternatives that can match the same text (like (?:\\d+|\\d+\\.)*), which "
                            "can backtrack for hours on a crafted response; make the alternatives start "
                            "differently (\\d+(?:\\.\\d*)?), or make the group atomic ((?>...))"
                        )
                found = walk(body)
                if found:
                    return found
            elif op is constants.BRANCH:
                for b in arg[1]:
                    found = walk(b)
                    if found:
                        return found
            # ATOMIC_GROUP and POSSESSIVE_REPEAT never backtrack into themselves: not descended.
        return None

    try:
        return walk(tree)
    except Exception:  # an internal opcode renamed in a future Python: skip the check, never break loading
        return None
