"""``length``: conciseness — full credit up to a target length, a linear penalty to 0 at a hard maximum.

Formula, with ``n`` the response length in ``unit``s:
``credit = 1`` if ``n <= target``; ``(max - n) / (max - target)`` if ``target < n < max``; ``0`` if
``n >= max``; and ``0`` if ``n < min``. Units: ``words`` (runs of letters/digits), ``tokens`` (an
approximate token count, ``ceil(chars / 4)``) or ``chars``. With ``relative = true``, ``target``,
``max`` and ``min`` are multiples of the reference answer's length in the same unit (e.g. ``target =
1.5, max = 4``). An empty response (no letter or digit) is ``unscorable``.

Length alone is trivially gamed (a one-word answer is concise): in a spec, gate it on correctness so
only correct answers are paid for being short.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

from reward.event import Sample
from reward.graders.base import Grader, ParamError
from reward.results import Grade
from reward.text import has_content, reference_text, words

Unit = Literal["words", "tokens", "chars"]


@dataclass(frozen=True)
class LengthParams:
    target: float = 200.0
    max: float = 400.0
    min: float = 0.0
    unit: Unit = "words"
    relative: bool = False  # target/max/min are multiples of the reference answer's length
    reference_key: str = ""  # which reference field is "the reference answer" when relative

    def __post_init__(self) -> None:
        for key in ("target", "max", "min"):
            value = getattr(self, key)
            if not math.isfinite(value) or value < 0:
                raise ParamError(key, f"'{key}' must be a finite number >= 0, got {value}")
        if self.max <= self.target:
            raise ParamError("max", f"'max' ({self.max}) must be greater than 'target' ({self.target})")
        if self.min > self.target:
            raise ParamError("min", f"'min' ({self.min}) must not exceed 'target' ({self.target})")


def measure(text: str, unit: str) -> int:
    """The length of ``text`` in ``unit`` (words, approximate tokens = ceil(chars / 4), or chars)."""
    if unit == "words":
        return len(words(text))
    if unit == "tokens":
        return math.ceil(len(text.strip()) / 4)
    return len(text.strip())


class LengthGrader(Grader):
    name = "length"
    Params = LengthParams

    def __init__(self, params: LengthParams) -> None:
        super().__init__(params)
        self.needs_reference = params.relative  # type: ignore[misc]

    def grade(self, sample: Sample) -> Grade:
        p: LengthParams = self.params
        text = sample.response or ""
        if not has_content(text):
            return Grade.unscorable("empty response")
        scale = 1.0
        if p.relative:
            reference = reference_text(sample.reference, p.reference_key or None)
            if reference is None and sample.reference is not None:
                reference = json.dumps(sample.reference, ensure_ascii=False, default=str)
            scale = float(measure(reference or "", p.unit))
            if scale <= 0:
                return Grade.no_reference("the reference answer has no length to compare with")
        target, high, low = p.target * scale, p.max * scale, p.min * scale
        n = measure(text, p.unit)
        if n < low:
            return Grade.wrong(f"{n} {p.unit}, under min {low:g}", length=n)
        if n <= target:
            return Grade.right(length=n)
        if n >= high:
            return Grade.wrong(f"{n} {p.unit}, at or over max {high:g}", length=n)
        return Grade.partial((high - n) / (high - target), f"{n} {p.unit}, over target {target:g}", length=n)
