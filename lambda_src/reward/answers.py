"""Anchored final-answer extraction, shared by the answer-checking graders.

Only what a response *declares* as its final answer counts: ``#### x``, ``\\boxed{x}``, "final answer: x"
and "the answer is x" — or, when a spec sets ``answer_pattern``, every match of that regex (its one capture
group is the answer). The last number anywhere in the text never counts, so reasoning that mentions
many numbers cannot stumble into credit. Every declared answer must agree, so a response that hedges
("#### 17 or 18") or contradicts itself (``#### 18`` ... "the answer is 17") is wrong.

A phrase declaration ("the answer is 42, which is the number of apples", "#### 12 apples") is cut before
an explanatory clause (``strip_clause``), unless the clause itself hedges ("..., which might be 43"): the
hedge stays in the declaration so the graders see it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from reward.user_regex import UserPattern, risky_shape

MARKERS = ("hashes", "boxed", "final_answer", "answer_is")

_HASHES = re.compile(r"^[ \t]*####[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE = re.compile(r"[{}]")
# Phrases end at the end of the line or at a sentence end (". " / "." at end); "2.5" stays whole.
_FINAL_ANSWER = re.compile(
    r"final\s+answer\s*(?:is\b|:|=)\s*(.*?)(?=\.\s|\.?$)", re.IGNORECASE | re.MULTILINE
)
_ANSWER_IS = re.compile(r"\bthe\s+answer\s+is\b\s*:?\s*(.*?)(?=\.\s|\.?$)", re.IGNORECASE | re.MULTILINE)


# An explanatory clause after a declared answer: ", which is ...", " because ...", "; since ...".
# "or" and "but" are not clause starts: "17 or 18" and "17, but maybe 18" are hedges the graders must see.
_CLAUSE = re.compile(
    r"(?:\s*[,;:(]\s*|\s+[-\u2013\u2014]+\s+|\s+)"
    r"(?:which|because|since|as\s+(?:this|that|it|we|the)|so\s+(?:that|the|this|it|we)|that\s+is|i\.e\.|"
    r"where|when|given|this\s+is|this\s+means|that's|thus|hence|meaning|from\s+the|after|using)\b.*$",
    re.IGNORECASE | re.DOTALL,
)
_HEDGE_WORDS = re.compile(
    r"\b(?:or|maybe|possibly|perhaps|probably|either|might|could|unless|alternatively|not\s+sure)\b",
    re.IGNORECASE,
)


def strip_clause(text: str) -> str:
    """``text`` without a trailing explanatory clause ("42, which is ..." -> "42"); kept whole when the
    clause hedges (it may name another answer) or nothing would be left."""
    m = _CLAUSE.search(text)
    if m is None or m.start() == 0:
        return text
    head, tail = text[: m.start()], text[m.start() :]
    if _HEDGE_WORDS.search(tail) or not head.strip():
        return text
    return head


def compile_answer_pattern(pattern: str) -> UserPattern:
    """An ``answer_pattern`` compiled the way graders use it (case-insensitive, ``^``/``$`` per line, every
    match under ``reward.user_regex``'s time limit); ``ValueError`` saying what is wrong when it is not a
    regex with exactly one capture group, or has a shape that backtracks catastrophically."""
    flags = re.IGNORECASE | re.MULTILINE
    try:
        compiled = UserPattern(pattern, flags)
    except re.error as exc:
        raise ValueError(f"'answer_pattern' is not a valid regular expression: {exc}") from None
    if compiled.groups != 1:
        raise ValueError(
            f"'answer_pattern' must have exactly one capture group (the answer), it has {compiled.groups}; "
            "e.g. 'Category:\\s*(\\w+)' (use (?:...) for groups that are not the answer)"
        )
    shape = risky_shape(pattern, flags)
    if shape:
        raise ValueError(f"'answer_pattern' {pattern!r} {shape}")
    return compiled


def after_delimiter(text: str, delimiter: str) -> str | None:
    """What follows the last ``delimiter`` (e.g. ``</think>``) in ``text``; None when it is missing
    (truncated or unclosed reasoning: nothing was declared after it)."""
    position = text.rfind(delimiter)
    if position < 0:
        return None
    return text[position + len(delimiter) :]


@dataclass(frozen=True, slots=True)
class Declared:
    """One place where the response declares a final answer."""

    marker: str  # one of MARKERS, or "pattern" (a match of the spec's answer_pattern)
    text: str  # what follows the marker (one line, or the boxed content), or the pattern's capture
    position: int
    tail: str = ""  # pattern matches only: the rest of the matched line after the capture


def pattern_answers(text: str, pattern: UserPattern) -> list[Declared]:
    """Every match of an ``answer_pattern`` (its capture group) in ``text``, in order.

    The anti-hedging rules read the whole line the pattern matched, not only its capture: when the rest of
    that line holds another candidate (a number, a hedge word: ``Total due: 3075.48 or 3076.48`` against
    ``Total due:\\s*(\\S+)``), the declaration is the whole line from the capture on (and what precedes the
    match on the line), so the graders see the hedge and score it as one."""
    found = []
    for m in pattern.finditer(text):
        if m.group(1) is None:
            continue
        end = text.find("\n", m.end(1))
        tail = text[m.end(1) : end if end >= 0 else len(text)]
        line_start = text.rfind("\n", 0, m.start()) + 1
        head = text[line_start : m.start()]
        answer = m.group(1)
        if _other_candidate(head) or _other_candidate(tail):
            answer = f"{head} {answer}{tail}".strip() if head.strip() else f"{answer}{tail}"
        found.append(Declared("pattern", answer, m.start(), tail))
    return found


_DIGIT = re.compile(r"\d")


def _other_candidate(rest: str) -> bool:
    """The text around a pattern's match on its line names another answer: a number or a hedge word."""
    return bool(rest.strip()) and bool(_DIGIT.search(rest) or _HEDGE_WORDS.search(rest))


def declared_answers(
    text: str, markers: tuple[str, ...] = MARKERS, pattern: UserPattern | None = None
) -> list[Declared]:
    """Every final-answer declaration in ``text``, in order of position: the matches of ``pattern`` when
    given (the markers are then ignored), else the declarations of the ``markers``."""
    if pattern is not None:
        return pattern_answers(text, pattern)
    found: list[Declared] = []
    if "hashes" in markers and "####" in text:
        found += [Declared("hashes", strip_clause(m.group(1)), m.start()) for m in _HASHES.finditer(text)]
    if "boxed" in markers and "box" in text:
        closers: dict[int, int] | None = None
        inside_until = -1
        for m in _BOXED.finditer(text):
            if m.start() < inside_until:
                continue  # a box inside a box is part of the outer answer (and nesting stays linear)
            if closers is None:
                closers = closing_braces(text)  # one pass for every box: unclosed ones cost nothing more
            close = closers.get(m.end() - 1)
            if close is not None:
                found.append(Declared("boxed", text[m.end() : close], m.start()))
                inside_until = close
    lowered_has_answer = "answer" in text or "Answer" in text or "ANSWER" in text
    if lowered_has_answer:
        # "The final answer is $\boxed{18}$": the box is the declaration (counted above when "boxed" is
        # a marker); the phrase around it adds nothing.
        boxed_counts = "boxed" in markers
        if "final_answer" in markers:
            found += [
                Declared("final_answer", strip_clause(m.group(1)), m.start())
                for m in _FINAL_ANSWER.finditer(text)
                if not (boxed_counts and _BOXED.search(m.group(1)))
            ]
        if "answer_is" in markers:
            found += [
                Declared("answer_is", strip_clause(m.group(1)), m.start())
                for m in _ANSWER_IS.finditer(text)
                if not (boxed_counts and _BOXED.search(m.group(1)))
            ]
    found.sort(key=lambda d: d.position)
    return found


def closing_braces(text: str) -> dict[int, int]:
    """Position of each ``{`` that is closed -> position of its ``}``, in one linear pass.

    Callers that look up many boxes use this instead of ``balanced_content`` per box: rescanning to the
    end of the text for every unclosed ``\\boxed{`` was quadratic (17.8 s for 56 KB of them).
    """
    pairs: dict[int, int] = {}
    opened: list[int] = []
    for m in _BRACE.finditer(text):
        if m.group() == "{":
            opened.append(m.start())
        elif opened:
            pairs[opened.pop()] = m.start()
    return pairs


def balanced_content(text: str, start: int) -> str | None:
    """The text from ``start`` up to the brace that closes an already-open ``{``; None if unclosed.

    Linear in what it scans, but it scans to the end when unclosed: to read many boxes of one text use
    ``closing_braces`` once (as ``declared_answers`` does)."""
    depth = 1
    for i in range(start, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return None


# --- numbers -------------------------------------------------------------------------------------
# ASCII digits only: Python's int() accepts look-alike digits ("１８"), training must not pay for them.
_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+"
# Linear by construction: a match starts at a sign, a ``$`` or a digit (never inside a run of spaces), and
# no two quantifiers can share a character (``\s*\$?\s*`` could, which made runs of spaces cubic).
_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z_.])(?:(?P<sign>[-+\u2212])\s*)?(?:\\?\$\s*)?(?P<num>{_NUM})"
    rf"(?:\s*/\s*(?P<den>{_NUM}))?(?![0-9])"
)
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([^{}]*)\}\s*\{\s*([^{}]*)\}")
_TEXT = re.compile(r"\\(?:text|mathrm|textbf|mbox)\s*\{([^{}]*)\}")
_LATEX_NOISE = re.compile(r"\\[,;:! ]|\\left|\\right|\^\s*\{?\\circ\}?|\\%|\\\$")


def parse_number(token_sign: str, num: str, den: str | None) -> Fraction | None:
    try:
        value = Fraction(num.replace(",", "").rstrip(".") or "0")
        if den is not None:
            denominator = Fraction(den.replace(",", "").rstrip(".") or "0")
            if denominator == 0:
                return None
            value /= denominator
    except (ValueError, ZeroDivisionError):
        return None
    return -value if token_sign in ("-", "\u2212") else value


def numbers_in(text: str) -> list[Fraction]:
    """Every number written in ``text`` (integers, decimals, ``1,000``, ``$18``, ``a/b``, ``\\frac{a}{b}``)."""
    if "\\" in text or "{," in text:
        text = text.replace("{,}", ",")
        text = _FRAC.sub(r"\1/\2", text)
        text = _TEXT.sub(r" \1 ", text)
        text = _LATEX_NOISE.sub(" ", text)
    values = []
    for m in _NUMBER.finditer(text):
        value = parse_number(m.group("sign"), m.group("num"), m.group("den"))
        if value is not None:
            values.append(value)
    return values


@dataclass(frozen=True, slots=True)
class NumericAnswer:
    """The outcome of reading a numeric final answer from a response."""

    value: Fraction | None  # the single agreed answer, when there is one
    problem: str = ""  # "" | "none" (nothing declared / no number) | "hedged" | "conflicting"
    declared: int = 0  # how many declarations were found


def final_number(
    text: str, markers: tuple[str, ...] = MARKERS, pattern: UserPattern | None = None
) -> NumericAnswer:
    """The one number the response declares as final (by ``markers``, or ``pattern`` when given), or why
    there is none."""
    declarations = declared_answers(text, markers, pattern)
    if not declarations:
        return NumericAnswer(None, "none", 0)
    values: set[Fraction] = set()
    for declaration in declarations:
        numbers = set(numbers_in(declaration.text))
        if len(numbers) > 1:
            return NumericAnswer(None, "hedged", len(declarations))
        values |= numbers
    if not values:
        return NumericAnswer(None, "none", len(declarations))
    if len(values) > 1:
        return NumericAnswer(None, "conflicting", len(declarations))
    return NumericAnswer(values.pop(), "", len(declarations))


def reference_number(reference: object, key: str = "final_answer") -> Fraction | None:
    """The numeric reference answer: ``{"final_answer": "18"}``, ``"18"``, ``18``, or a ``#### 18`` solution."""
    if isinstance(reference, dict):
        for candidate_key in (key, "final_answer", "answer"):
            if candidate_key in reference:
                return reference_number(reference[candidate_key], key)
        return None
    if isinstance(reference, bool):
        return None
    if isinstance(reference, int):
        return Fraction(reference)
    if isinstance(reference, float):
        return Fraction(str(reference)) if reference == reference and abs(reference) != float("inf") else None
    if isinstance(reference, str):
        declared = final_number(reference)
        if declared.value is not None:
            return declared.value
        numbers = set(numbers_in(reference))
        return numbers.pop() if len(numbers) == 1 else None
    return None


def format_number(value: Fraction) -> str:
    """A plain decimal rendering (``18``, ``2.5``), or ``a/b`` when not a finite decimal."""
    if value.denominator == 1:
        return str(value.numerator)
    as_float = float(value)
    if Fraction(repr(as_float)) == value:
        return repr(as_float)
    return f"{value.numerator}/{value.denominator}"
