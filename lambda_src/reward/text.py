"""Text helpers shared by the string-comparing graders: normalization, word tokens, reference text.

Everything here is total: any ``str`` (giant, binary-looking, lone surrogates) goes in without raising.
Only letters and digits count as content, so ``":"`` or a row of emoji is never a "response" that can
earn credit (see ``has_content``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")  # letters and digits (any script); "_" is punctuation here
_PUNCT = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b", re.IGNORECASE)
# Invisible format characters (zero-width space/joiner, soft hyphen, BOM, bidi controls): a model can
# hide them inside a word to dodge a forbidden term, so they are removed before matching.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]"
)

# Keys tried, in order, when a reference object is asked for "its text" and the spec's key is absent.
REFERENCE_TEXT_KEYS = ("answer", "final_answer", "text", "reference", "explanation")


def has_content(text: str | None) -> bool:
    """True when ``text`` contains at least one letter or digit (any script)."""
    return text is not None and _WORD.search(text) is not None


_JSON_ESCAPE = re.compile(
    r'\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(["\\/bfnrt]))'
)
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def json_unescaped(text: str) -> str:
    """``text`` with every JSON string escape decoded in place (``\\u0061`` -> ``a``, surrogate pairs
    joined, ``\\n`` -> newline), in one linear pass; lone surrogates become U+FFFD.

    What a JSON response *means* is its decoded strings: a veto that reads only the raw text would let
    ``legal \\u0061dvice`` through. Decoding escapes wherever they occur covers JSON anywhere in a
    response (whole, fenced, or inline) without parsing it."""
    if "\\" not in text:
        return text

    def decode(m: re.Match[str]) -> str:
        high, low, single, simple = m.groups()
        if high is not None:
            return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
        if single is not None:
            code = int(single, 16)
            return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
        return _SIMPLE_ESCAPES[simple]

    return _JSON_ESCAPE.sub(decode, text)


def veto_text(text: str) -> str:
    """What a veto reads: ``text`` NFKC-normalized, without invisible characters, and — when it holds JSON
    escapes — followed by its decoded form, so a term hidden by either disguise is found."""
    plain = strip_invisible(unicodedata.normalize("NFKC", text))
    decoded = json_unescaped(text)
    if decoded == text:
        return plain
    return plain + "\n" + strip_invisible(unicodedata.normalize("NFKC", decoded))


def strip_invisible(text: str) -> str:
    """``text`` without zero-width and other invisible format characters."""
    return _INVISIBLE.sub("", text)


def normalize(
    text: str,
    *,
    case: bool = True,
    whitespace: bool = True,
    punctuation: bool = False,
    nfkc: bool = True,
    articles: bool = False,
) -> str:
    """``text`` made comparable. Each flag turns one normalization on:

    ``nfkc`` Unicode compatibility forms (full-width ``Ａ`` -> ``A``, ligatures) and invisible characters
    removed; ``case`` case-folded; ``punctuation`` punctuation replaced by spaces; ``articles`` English
    articles removed; ``whitespace`` runs of whitespace collapsed to one space and the ends stripped.
    """
    if nfkc:
        text = strip_invisible(unicodedata.normalize("NFKC", text))
    if case:
        text = text.casefold()
    if punctuation:
        text = _PUNCT.sub(" ", text)
    if articles:
        text = _ARTICLES.sub(" ", text)
    if whitespace:
        text = _SPACE.sub(" ", text).strip()
    return text


def words(text: str) -> list[str]:
    """Word tokens (runs of letters/digits), NFKC-normalized and case-folded."""
    return _WORD.findall(unicodedata.normalize("NFKC", strip_invisible(text)).casefold())


def token_f1(candidate: str, reference: str) -> float:
    """SQuAD-style token F1 between two texts: harmonic mean of token precision and recall.

    ``precision = overlap / |candidate tokens|``, ``recall = overlap / |reference tokens|`` with
    ``overlap`` the multiset intersection size; 0 when either side has no tokens.
    """
    cand, ref = words(candidate), words(reference)
    if not cand or not ref:
        return 0.0
    overlap = sum((Counter(cand) & Counter(ref)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(cand), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def reference_text(reference: Any, key: str | None = None) -> str | None:
    """The text a reference stands for: a string as is; from an object, ``key`` (or the first of
    ``REFERENCE_TEXT_KEYS`` present) when its value is a string or number. None when there is none."""
    if isinstance(reference, str):
        return reference if reference.strip() else None
    if isinstance(reference, bool):
        return None
    if isinstance(reference, (int, float)):
        return str(reference)
    if isinstance(reference, Mapping):
        keys = (key,) if key else REFERENCE_TEXT_KEYS
        for candidate in keys:
            if candidate in reference:
                return reference_text(reference[candidate])
    return None


def reference_texts(reference: Any, key: str | None = None) -> list[str]:
    """Every accepted text of a reference: like ``reference_text``, but a list (of strings) at the key,
    or a list as the reference itself, gives several accepted answers."""
    value = reference
    if isinstance(reference, Mapping):
        keys = (key,) if key else REFERENCE_TEXT_KEYS
        value = next((reference[k] for k in keys if k in reference), None)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [t for t in (reference_text(v) for v in value) if t is not None]
    text = reference_text(value)
    return [text] if text is not None else []
