"""``terms``: required and forbidden terms or phrases (a brand lexicon, banned claims).

Formula: credit 0 when any ``forbidden`` term occurs; otherwise ``found / len(required)`` over the
``required`` terms (plus, with ``reference_key``, the row's own list at that key of the reference
object), or 1 when nothing is required. An empty response (no letter or digit) is ``unscorable``.

Matching: case-insensitive unless ``case_sensitive``; whole words unless ``word_boundary = false``
(``"cure"`` does not match ``"secure"``); a space in a phrase matches any run of whitespace; text is
NFKC-normalized and stripped of zero-width characters first, and JSON string escapes are read decoded as
well as raw (``reward.text.veto_text``), so full-width letters, a hidden ``\\u200b`` or a JSON escape
(``legal \\u0061dvice``) cannot smuggle a forbidden term past the check.

As a veto (a banned claim forces the floor whatever else is right):
``veto = true, weight = 0`` on the dimension — it adds nothing to the aggregate but a failure
(credit below ``pass_at``, default 1) makes the aggregate -1.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.text import has_content, veto_text


@dataclass(frozen=True)
class TermsParams:
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    case_sensitive: bool = False
    word_boundary: bool = True
    reference_key: str = ""  # a list of extra required terms in each row's reference object

    def __post_init__(self) -> None:
        if not self.required and not self.forbidden and not self.reference_key:
            raise ParamError("required", "give required and/or forbidden terms (or a reference_key)")
        for key in ("required", "forbidden"):
            for i, term in enumerate(getattr(self, key)):
                if not term.strip():
                    raise ParamError(key, f"{key}[{i}] is empty")


def compile_term(term: str, *, case_sensitive: bool, word_boundary: bool) -> re.Pattern[str]:
    """A pattern for ``term``: escaped, spaces matching any whitespace, optionally word-bounded."""
    term = unicodedata.normalize("NFKC", term.strip())
    body = r"\s+".join(re.escape(part) for part in term.split())
    if word_boundary:
        # \b would fail next to a non-word character ("C++", "#1"): assert "no word character" instead.
        body = rf"(?<!\w){body}(?!\w)"
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE)


class TermsGrader(Grader):
    name = "terms"
    Params = TermsParams

    def __init__(self, params: TermsParams) -> None:
        super().__init__(params)
        self._required = [(t, self._compile(t)) for t in params.required]
        self._forbidden = [(t, self._compile(t)) for t in params.forbidden]

    def _compile(self, term: str) -> re.Pattern[str]:
        p: TermsParams = self.params
        return compile_term(term, case_sensitive=p.case_sensitive, word_boundary=p.word_boundary)

    def grade(self, sample: Sample) -> Grade:
        p: TermsParams = self.params
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        text = veto_text(text)
        hits = [term for term, pattern in self._forbidden if pattern.search(text)]
        if hits:
            return Grade.wrong(
                f"forbidden: {', '.join(repr(h[:40]) for h in hits[:5])}", forbidden_found=len(hits)
            )
        required = list(self._required)
        if p.reference_key:
            required += [(t, self._compile(t)) for t in _row_terms(sample.reference, p.reference_key)]
        if not required:
            return Grade.right()
        missing = [term for term, pattern in required if not pattern.search(text)]
        found = len(required) - len(missing)
        reason = f"missing: {', '.join(repr(m[:40]) for m in missing[:5])}" if missing else ""
        return Grade.partial(found / len(required), reason, required_found=found)


def _row_terms(reference: object, key: str) -> Iterable[str]:
    value = reference.get(key) if isinstance(reference, Mapping) else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence):
        return []
    return [t for t in value if isinstance(t, str) and t.strip()][:100]
