"""``regex``: the response has (and lacks) given patterns, e.g. a ``<think>…</think>`` block, a closing line.

Formula: credit = satisfied / (len(must_match) + len(must_not_match)), where a ``must_match`` pattern is
satisfied when it matches (``re.search``, or the whole response with ``fullmatch = true``) and a
``must_not_match`` pattern when it does not. An empty response (no letter or digit) is ``unscorable``.
Use it for shape, gated on correctness in a spec: a shape alone is easy to fake.

Backtracking guard (``reward.user_regex``): every match runs with a time limit, and an overrun is the
response's failure; on top of that,
1. a pattern with a nested unbounded repeat such as ``(a+)+`` or ``(\\w+\\s*)*``, or overlapping
   alternatives under a repeat such as ``(?:\\d+|\\d+\\.)*`` — the shapes behind exponential
   backtracking — is rejected when the spec loads (rewrite it, or make the inner part possessive
   ``\\w++`` / atomic ``(?>...)``);
2. responses longer than ``max_chars`` (default 32000, about 8k tokens) are not matched
   (``unscorable``), which bounds the polynomial cost of unanchored patterns: ``re.search`` retries
   every start position, so ``(?:\\w+\\s)+`` on 5000 letters takes ~0.3 s and grows with the square
   of the length — anchor patterns (``^``, a literal like ``<think>``) where you can;
3. ``heavy = true`` runs the dimension in the worker processes, under the spec's hard per-sample
   budget (``sample_timeout_s``), for patterns you cannot vet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.text import has_content, veto_text
from reward.user_regex import UserPattern, risky_shape


@dataclass(frozen=True)
class RegexParams:
    must_match: tuple[str, ...] = ()
    must_not_match: tuple[str, ...] = ()
    fullmatch: bool = False  # must_match patterns must match the whole (stripped) response
    ignore_case: bool = False
    multiline: bool = True  # ^ and $ match at line boundaries
    dotall: bool = False  # . matches newlines too
    max_chars: int = 32_000
    heavy: bool = False  # grade in worker processes with a hard per-sample time limit

    def __post_init__(self) -> None:
        if not self.must_match and not self.must_not_match:
            raise ParamError("must_match", "give at least one pattern in must_match or must_not_match")
        if self.max_chars < 1:
            raise ParamError("max_chars", "'max_chars' must be >= 1")
        for key in ("must_match", "must_not_match"):
            for i, pattern in enumerate(getattr(self, key)):
                try:
                    compiled = re.compile(pattern, self.flags)
                except re.error as exc:
                    raise ParamError(key, f"{key}[{i}] {pattern!r} is not a valid regex: {exc}") from None
                shape = risky_shape(compiled.pattern, self.flags)
                if shape:
                    raise ParamError(key, f"{key}[{i}] {pattern!r} {shape}")

    @property
    def flags(self) -> int:
        return (
            (re.IGNORECASE if self.ignore_case else 0)
            | (re.MULTILINE if self.multiline else 0)
            | (re.DOTALL if self.dotall else 0)
        )


class RegexGrader(Grader):
    name = "regex"
    Params = RegexParams

    def __init__(self, params: RegexParams) -> None:
        super().__init__(params)
        self.heavy = params.heavy  # type: ignore[misc]
        self._must = [UserPattern(p, params.flags) for p in params.must_match]
        self._must_not = [UserPattern(p, params.flags) for p in params.must_not_match]

    def grade(self, sample: Sample) -> Grade:
        p: RegexParams = self.params
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        if len(text) > p.max_chars:
            return Grade.unscorable(
                f"response is {len(text)} chars, over the regex limit max_chars={p.max_chars}"
            )
        subject = text.strip() if p.fullmatch else text
        failed = []
        for pattern in self._must:
            hit = pattern.fullmatch(subject) if p.fullmatch else pattern.search(subject)
            if hit is None:
                failed.append(f"missing {pattern.pattern!r}")
        veto_subject = veto_text(text) if self._must_not else ""  # what the model meant, too
        for pattern in self._must_not:
            if pattern.search(veto_subject) is not None:
                failed.append(f"has {pattern.pattern!r}")
        total = len(self._must) + len(self._must_not)
        return Grade.partial((total - len(failed)) / total, "; ".join(failed)[:300])
