"""``format``: the response has the required shape (final-answer line, markers used once, work shown).

Formula: credit = passed checks / checks. Checks, each optional:
- ``final_line``: the last non-empty line fully matches this regex;
- ``once``: each of these strings occurs exactly once;
- ``min_words_before``: at least this many words of work before the final line.
Meant to be gated on correctness in a spec, so style never pays for a wrong answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.user_regex import UserPattern, risky_shape


@dataclass(frozen=True)
class FormatParams:
    final_line: str = r"####\s*[-+]?\$?[0-9][0-9,]*(\.[0-9]+)?"
    once: tuple[str, ...] = ("####",)
    min_words_before: int = 0

    def __post_init__(self) -> None:
        try:
            re.compile(self.final_line)
        except re.error as exc:
            raise ParamError("final_line", f"'final_line' is not a valid regex: {exc}") from None
        shape = risky_shape(self.final_line)
        if shape:
            raise ParamError("final_line", f"'final_line' {self.final_line!r} {shape}")
        if self.min_words_before < 0:
            raise ParamError("min_words_before", "'min_words_before' must be >= 0")


class FormatGrader(Grader):
    name = "format"
    Params = FormatParams

    def __init__(self, params: FormatParams) -> None:
        super().__init__(params)
        self._final_line = UserPattern(params.final_line) if params.final_line else None

    def grade(self, sample: Sample) -> Grade:
        p: FormatParams = self.params
        text = (sample.response or "").strip()
        if not text:
            return Grade.unscorable("empty response")
        head, _, last = text.rpartition("\n")
        checks: list[bool] = []
        failed: list[str] = []
        if self._final_line is not None:
            ok = self._final_line.fullmatch(last.strip()) is not None
            checks.append(ok)
            if not ok:
                failed.append("final line")
        for marker in p.once:
            ok = text.count(marker) == 1
            checks.append(ok)
            if not ok:
                failed.append(f"{marker!r} once")
        if p.min_words_before:
            ok = len(head.split()) >= p.min_words_before
            checks.append(ok)
            if not ok:
                failed.append(f"{p.min_words_before} words of work")
        if not checks:
            return Grade.right()
        return Grade.partial(sum(checks) / len(checks), "failed: " + ", ".join(failed) if failed else "")
