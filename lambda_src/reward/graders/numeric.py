"""``numeric``: the response's declared final number equals the reference number.

Formula: credit 1 when the single declared final answer equals the reference exactly (as a fraction:
``18`` = ``18.0`` = ``$18``, ``1/2`` = ``0.5``; optional tolerances), else 0. No declared answer is
``unscorable`` (a wrong answer). Several different declared answers, or several numbers in one
declaration ("17 or 18"), are wrong.

Where the answer is read: the declarations of ``markers`` (``#### n``, ``\\boxed{n}``, "final answer: n",
"the answer is n"), or, with ``answer_pattern`` (a regex with one capture group, e.g.
``'Total due:\\s*(\\S+)'``), every match's capture instead; the same rules apply to the matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from reward.answers import (
    MARKERS,
    final_number,
    format_number,
    reference_number,
)
from reward.event import Sample
from reward.graders.base import Grader, ParamError, answer_reading
from reward.results import Grade


@dataclass(frozen=True)
class NumericParams:
    reference_key: str = "final_answer"  # key of the reference object holding the answer
    markers: tuple[str, ...] = MARKERS  # which final-answer declarations count
    abs_tolerance: float = 0.0
    rel_tolerance: float = 0.0
    answer_pattern: str = ""  # a regex with one capture group: where the answer is (replaces markers)

    def __post_init__(self) -> None:
        answer_reading(self.answer_pattern, self.markers)
        if self.abs_tolerance < 0 or self.rel_tolerance < 0:
            raise ParamError("abs_tolerance", "tolerances must be >= 0")


class NumericGrader(Grader):
    name = "numeric"
    Params = NumericParams
    needs_reference = True
    reads_answer = True

    def __init__(self, params: NumericParams) -> None:
        super().__init__(params)
        self.pattern = answer_reading(params.answer_pattern)

    def grade(self, sample: Sample) -> Grade:
        p: NumericParams = self.params
        expected = reference_number(sample.reference, p.reference_key)
        if expected is None:
            return Grade.no_reference(f"reference_answer has no single number under {p.reference_key!r}")
        answer = final_number(sample.response or "", p.markers, self.pattern)
        if answer.problem == "none":
            if self.pattern is not None:
                return Grade.unscorable(f"no number matched by answer_pattern {p.answer_pattern!r}")
            return Grade.unscorable("no final answer (#### n, \\boxed{n}, 'the answer is n')")
        if answer.problem:
            return Grade.wrong(f"{answer.problem} final answers", declared_answers=answer.declared)
        if answer.value is None:  # no problem reported, yet no value: nothing to compare
            return Grade.unscorable("no final answer")
        if _close(answer.value, expected, p):
            return Grade.right()
        return Grade.wrong(f"answered {format_number(answer.value)}, expected {format_number(expected)}")


def _close(value: Fraction, expected: Fraction, p: NumericParams) -> bool:
    if value == expected:
        return True
    if not (p.abs_tolerance or p.rel_tolerance):
        return False
    diff = abs(float(value - expected))
    return diff <= p.abs_tolerance or diff <= p.rel_tolerance * abs(float(expected))
