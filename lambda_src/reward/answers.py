"""Anchored final-answer extraction, shared by the answer-checking graders.

Only what a response *declares* as its final answer counts: ``#### x``, ``\\boxed{x}``, "final answer: x"
and "the answer is x". The last number anywhere in the text never counts, so reasoning that mentions
many numbers cannot stumble into credit. Every declared answer must agree, so a response that hedges
("#### 17 or 18") or contradicts itself (``#### 18`` ... "the answer is 17") is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MARKERS = ("hashes", "boxed", "final_answer", "answer_is")

_HASHES = re.compile(r"^[ \t]*####[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE = re.compile(r"[{}]")
# Phrases end at the end of the line or at a sentence end (". " / "." at end); "2.5" stays whole.
_FINAL_ANSWER = re.compile(
    r"final\s+answer\s*(?:is\b|:|=)\s*(.*?)(?=\.\s|\.?$)", re.IGNORECASE | re.MULTILINE
)
_ANSWER_IS = re.compile(r"\bthe\s+answer\s+is\b\s*:?\s*(.*?)(?=\.\s|\.?$)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Declared:
    """One place where the response declares a final answer."""

    marker: str  # one of MARKERS
    text: str  # what follows the marker (one line, or the boxed content)
    position: int


def declared_answers(text: str, markers: tuple[str, ...] = MARKERS) -> list[Declared]:
    """Every final-answer declaration in ``text``, in order of position."""
    found: list[Declared] = []
    if "hashes" in markers and "####" in text:
        found += [Declared("hashes", m.group(1), m.start()) for m in _HASHES.finditer(text)]
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
        if "final_answer" in markers:
            found += [Declared("final_answer", m.group(1), m.start()) for m in _FINAL_ANSWER.finditer(text)]
        if "answer_is" in markers:
            found += [Declared("answer_is", m.group(1), m.start()) for m in _ANSWER_IS.finditer(text)]
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
    if "\\" in text:
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


def final_number(text: str, markers: tuple[str, ...] = MARKERS) -> NumericAnswer:
    """The one number the response declares as final, or why there is none."""
    declarations = declared_answers(text, markers)
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
