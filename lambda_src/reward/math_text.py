"""A math answer's text made ready for math-verify, and what is not mathematics at all.

The ``math`` grader reads a declared answer (or a reference) as text; before math-verify parses it,
the ways people and models *write* an answer that math-verify misreads are normalized here, the same on
both sides (reference and response):

- **escaped currency** ``\\$10`` (and ``\\boxed{\\$50}``): the dollar sign is dropped. Left in, ``\\$``
  looks like an opening math delimiter and nothing is extracted;
- **percent** ``10\\%`` / ``10%``: the sign is dropped, so ``10\\%`` equals ``10`` (never ``0.1``);
- **units in words** ``5\\text{ cm}``, ``12 apples``, ``30 degrees``: a number followed only by words
  is that number (math names such as ``pi`` or ``sqrt`` are not units);
- **environments** ``\\begin{pmatrix}`` (bmatrix, vmatrix, matrix, array) are wrapped in ``$...$`` so
  math-verify reads a matrix (equal matrices are equal, different ones are not); ``\\begin{cases}`` is a
  system: its rows become a comma list (a set of equations);
- **prose** ("forty two", "Answer is forty two."): words are not mathematics. Parsed as math they would
  be a product of one-letter variables, so "two forty" would equal "forty two". ``is_prose`` says so; the
  grader then reports ``no_reference`` (or compares the words as text, when the spec asks).

Standard library only (imported by the spec loader's graders without sympy).
"""

from __future__ import annotations

import re

from reward.text import normalize

# Words that are mathematics when written without a backslash ("sqrt(2)", "2 pi", "x=1 or x=2").
_MATH_WORD_LIST = (
    "and or pi sqrt sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh log ln exp lim max min "
    "gcd lcm mod inf infty infinity deg det cdot times div le ge leq geq neq pm mp frac dfrac tfrac "
    "text mathrm mbox boxed left right"
)
MATH_WORDS = frozenset(_MATH_WORD_LIST.split())

_TRAILING = re.compile(r"[\s.;,:!]+$")
_ESCAPED_DOLLAR = re.compile(r"\\\$")
_PERCENT = re.compile(r"\\?%")
_DELIMITED = re.compile(r"\$|\\\(|\\\[|\\boxed")
_ENVIRONMENT_NAME = re.compile(r"\\(?:begin|end)\s*\{[^{}]*\}")
_CASES = re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.DOTALL)
_TEXT_GROUP = re.compile(r"\\(?:text|mathrm|textbf|textit|mbox|operatorname)\s*\{[^{}]*\}")
_COMMAND = re.compile(r"\\[A-Za-z]+")
# A prose word: three or more letters, at least two of them lower case ("ABCD" and "MBCN" name points).
_WORD = re.compile(r"(?<![A-Za-z\\])(?=[A-Za-z]*[a-z][A-Za-z]*[a-z])[A-Za-z]{3,}(?![A-Za-z])")
_SCRIPT = re.compile(r"[_^]\s*\{[^{}]*\}")
_NUMBER = r"[-+\u2212]?\s*(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_NUMBER_THEN_WORDS = re.compile(rf"^({_NUMBER})\s*((?:\\text\s*\{{[^{{}}]*\}}|[A-Za-z]+\.?)\s*){{1,3}}$")
_ANSWER_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?answer\s*(?:is\b|:|=)\s*", re.IGNORECASE)


def clean(text: str) -> str:
    """``text`` with currency, percent, trailing unit words and ``cases`` normalized (see module doc)."""
    text = _TRAILING.sub("", text.strip())
    if "$" in text:
        text = _ESCAPED_DOLLAR.sub("", text)
    if "%" in text:
        text = _PERCENT.sub("", text)
    if "cases" in text:
        text = _CASES.sub(lambda m: _cases_as_list(m.group(1)), text)
    bare = text.replace("$", " ").strip()
    m = _NUMBER_THEN_WORDS.match(bare)
    if m is not None and not any(
        w.lower() in MATH_WORDS for w in re.findall(r"[A-Za-z]+", m.group(0)[m.end(1) :])
    ):
        text = m.group(1)
    return _TRAILING.sub("", text.strip())


def _cases_as_list(body: str) -> str:
    rows = [row.replace("&", " ").strip() for row in re.split(r"\\\\", body)]
    return ", ".join(row for row in rows if row)


def as_input(text: str, wrap: bool = True) -> str:
    """A cleaned answer as math-verify input: kept when it has math delimiters, else wrapped in ``$...$``
    (environments included: math-verify reads ``\\begin{pmatrix}`` only inside math mode). With ``wrap``
    false (plain-expression extraction only) it is never wrapped."""
    text = clean(text)
    if not wrap or _DELIMITED.search(text):
        return text
    return f"${text}$"


def is_prose(text: str) -> bool:
    """True when ``text`` is words rather than mathematics: it has a word of three or more letters that
    is neither a LaTeX command, nor inside ``\\text{}``, nor a math name (``sqrt``, ``pi``, ``and``...).
    (``\\text{Monday}`` is mathematics to math-verify: one symbol.)"""
    stripped = _ENVIRONMENT_NAME.sub(" ", clean(text))
    stripped = _COMMAND.sub(" ", _SCRIPT.sub(" ", _TEXT_GROUP.sub(" ", stripped)))
    return any(w.lower() not in MATH_WORDS for w in _WORD.findall(stripped))


def prose_key(text: str) -> str:
    """Prose compared as text: without an "answer is" prefix, case, punctuation and articles."""
    return normalize(_ANSWER_PREFIX.sub("", text.strip()), punctuation=True, articles=True)


def top_level_items(text: str) -> list[str]:
    """The items of a comma list written without brackets (``1, 2, 3``): commas inside braces,
    brackets or parentheses do not split, and a thousands separator (``1,000``) is not a comma list.
    One item when ``text`` is not such a list."""
    body = clean(text).strip()
    if body.startswith("$") and body.endswith("$"):
        body = body.strip("$").strip()
    if re.fullmatch(_NUMBER, body):
        return [body]
    items, depth, start = [], 0, 0
    for i, c in enumerate(body):
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(body[start:i].strip())
            start = i + 1
    items.append(body[start:].strip())
    return [item for item in items if item]
