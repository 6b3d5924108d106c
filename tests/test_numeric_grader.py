"""The ``numeric`` grader and the anchored final-answer extraction behind it."""

from __future__ import annotations

import pytest

from reward.answers import final_number, reference_number
from reward.event import Message, Sample
from reward.graders.numeric import NumericGrader, NumericParams
from reward.results import Status

REF = {"final_answer": "18"}


def grade(response: str, reference=REF, **params):
    grader = NumericGrader(NumericParams(**params))
    return grader.grade(Sample("s1", 0, (Message("user", "q"),), response, reference))


@pytest.mark.parametrize(
    "response",
    [
        "#### 18",
        "#### 18.0",
        "#### 18.",
        "#### $18",
        "#### \\$18",
        "so 5+13 = 18\n#### 18",
        "The answer is 18.",
        "Final answer: 18",
        "\\boxed{18}",
        "The final answer is \\boxed{18}.",
        "#### 18 dollars",
    ],
)
def test_equivalent_spellings_of_the_right_answer_get_full_credit(response):
    assert grade(response).score == 1.0


@pytest.mark.parametrize(
    "response,reference",
    [
        ("#### 1,000", "1000"),
        ("#### 0.5", "1/2"),
        ("#### 1/2", "0.5"),
        ("\\boxed{\\frac{1}{2}}", "0.5"),
        ("#### -3", -3),
        ("#### 2.50", 2.5),
    ],
)
def test_numbers_compare_as_exact_values(response, reference):
    assert grade(response, {"final_answer": reference}).score == 1.0


@pytest.mark.parametrize(
    "response",
    [
        "#### 17 or 18",
        "#### 18\nThe answer is 17.",
        "The answer is 17.\n#### 18",
        "\\boxed{17} \\boxed{18}",
        "#### 18 (or 17)",
        "#### 17",
        "#### 180",
        "#### 1.8",
    ],
)
def test_hedged_conflicting_and_wrong_answers_get_no_credit(response):
    result = grade(response)
    assert result.status is Status.OK and result.score == 0.0


@pytest.mark.parametrize(
    "response",
    [
        "",
        "   ",
        ":",
        "Thought process:",
        "Let's solve this problem step by step.",
        "18",
        "I think it is 18",
        "#### eighteen",
        "#### \uff11\uff18",
    ],
)
def test_no_declared_answer_is_unscorable(response):
    result = grade(response)
    assert result.status is Status.UNSCORABLE and result.score == 0.0


def test_last_number_anywhere_never_counts():
    assert grade("Let me compute: 10 + 8 = 18").status is Status.UNSCORABLE


def test_unicode_lookalike_digits_are_not_numbers():
    assert final_number("#### \uff11\uff18").problem == "none"  # fullwidth 18


def test_missing_or_non_numeric_reference_is_no_reference():
    assert grade("#### 18", {"final_answer": "a dog"}).status is Status.NO_REFERENCE
    assert grade("#### 18", {}).status is Status.NO_REFERENCE


def test_reference_may_be_a_gsm8k_solution_string():
    assert reference_number("Natalia sold 48/2 = 24 clips.\n#### 72") == 72
    assert grade("#### 72", "She sold 72 clips in all.\n#### 72").score == 1.0


def test_tolerance_is_opt_in():
    assert grade("#### 18.01").score == 0.0
    assert grade("#### 18.01", abs_tolerance=0.05).score == 1.0
