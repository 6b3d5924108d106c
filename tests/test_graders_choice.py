"""``choice``: one option, anchored, or no credit — hedges and option lists never pay."""

from __future__ import annotations

import pytest

from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.results import Status

HOSTILE = [
    "",
    " \n\t",
    ":",
    "\ud800\udfff\ud800",
    "\x00\xff" * 5000,
    "A" * 1_000_000,
    "[" * 100_000,
    "🙂" * 50,
]


def grade(response, reference="B", metadata=None, **params):
    grader = grader_class("choice").from_params(params)
    sample = Sample(id="x", index=0, response=response, reference=reference, metadata=metadata or {})
    return grader.grade(sample)


@pytest.mark.parametrize(
    "response",
    [
        "B",
        "(B)",
        "b",
        "B.",
        "The answer is B.",
        "Reasoning...\nAnswer: B",
        "#### B",
        "\\boxed{B}",
        "B) Paris",
    ],
)
def test_one_declared_right_option_scores_full(response):
    g = grade(response)
    assert (g.score, g.status) == (1.0, Status.OK), g.reason


@pytest.mark.parametrize(
    "response",
    [
        "The answer is A or B.",
        "The answer is A and B.",
        "Answer: A, B, C, D",
        "The answer is B.\nAnswer: C",
        "#### B\n#### A",
        "Answer: A/B",
    ],
)
def test_hedged_or_multiple_answers_are_wrong(response):
    g = grade(response)
    assert g.score == 0.0 and g.status is Status.OK, g.reason


def test_wrong_option_is_wrong_and_says_which():
    g = grade("The answer is C.")
    assert g.score == 0.0 and "answered C, expected B" in g.reason


@pytest.mark.parametrize(
    "response", ["I think it might be B because reasons " * 3, "Let's think step by step."]
)
def test_undeclared_letters_in_reasoning_are_unscorable(response):
    assert grade(response).status is Status.UNSCORABLE


def test_option_text_counts_when_options_are_known():
    options = ["London", "Paris", "Paris, Texas", "Rome"]
    assert grade("The answer is Paris.", metadata={"options": options}).score == 1.0
    assert grade("Paris", metadata={"options": options}).score == 1.0
    # a longer option containing the right one's text names the longer option only
    assert grade("The answer is Paris, Texas", metadata={"options": options}).score == 0.0
    assert grade("The answer is Paris or London", metadata={"options": options}).score == 0.0
    assert (
        grade("The answer is Paris.", metadata={"options": options}, accept_text=False).status
        is Status.UNSCORABLE
    )


def test_every_option_listed_is_wrong():
    options = {"A": "1", "B": "2", "C": "3", "D": "4"}
    g = grade("The answer is 1, 2, 3, 4", reference={"answer": "B", "options": options})
    assert g.score == 0.0 and g.status is Status.OK


def test_reference_forms():
    assert grade("B", reference={"answer": "b"}).score == 1.0
    assert grade("B", reference={"answer": "Paris", "options": ["London", "Paris"]}).score == 1.0
    assert grade("B", reference={"choice": "B"}, reference_key="choice").score == 1.0
    assert grade("B", reference={"answer": "Z"}).status is Status.NO_REFERENCE
    assert grade("B", reference={"answer": 3}).status is Status.NO_REFERENCE


def test_labels_limit_valid_letters():
    assert grade("The answer is F.", reference="F").status is Status.NO_REFERENCE  # default labels ABCDE
    assert grade("The answer is F.", reference="F", labels="ABCDEF").score == 1.0
    assert grade("The answer is I, B.", reference="B", labels="ABCDEFGHIJ").score == 0.0


@pytest.mark.parametrize("labels", ["", "ab", "AA", "A1"])
def test_bad_labels_are_rejected(labels):
    with pytest.raises(ParamError) as info:
        grader_class("choice").from_params({"labels": labels})
    assert info.value.key == "labels"


@pytest.mark.parametrize("response", HOSTILE)
def test_hostile_responses_never_raise_or_pay(response):
    g = grade(response)
    assert g.score == 0.0 and g.status in (Status.OK, Status.UNSCORABLE)
