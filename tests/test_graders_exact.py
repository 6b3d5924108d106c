"""``exact``: the declared answer equals an accepted reference after the chosen normalizations."""

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
    "x" * 1_000_000,
    "#### " + "[" * 100_000,
]


def grade(response, reference="Paris", **params):
    grader = grader_class("exact").from_params(params)
    return grader.grade(Sample(id="x", index=0, response=response, reference=reference))


@pytest.mark.parametrize(
    "response",
    [
        "The capital is Paris.\n#### Paris",
        "The answer is paris.",
        "\\boxed{PARIS}",
        "Final answer: Paris!",
        "#### Ｐａｒｉｓ",
    ],
)
def test_declared_answer_matches_after_normalization(response):
    g = grade(response)
    assert (g.score, g.status) == (1.0, Status.OK), g.reason


def test_no_declaration_is_unscorable_and_whole_mode_reads_everything():
    assert grade("Paris").status is Status.UNSCORABLE
    assert grade("  Paris. ", extract="whole").score == 1.0
    assert grade("It is Paris", extract="whole").score == 0.0


@pytest.mark.parametrize(
    "response", ["#### Paris or Lyon", "#### Paris\n#### Lyon", "The answer is Paris.\n#### Lyon"]
)
def test_hedged_or_conflicting_answers_are_wrong(response):
    g = grade(response)
    assert g.score == 0.0 and g.status is Status.OK


def test_several_accepted_references_and_aliases():
    assert grade("#### NYC", reference=["New York", "NYC"]).score == 1.0
    assert grade("#### NYC", reference={"answer": "New York", "aliases": ["NYC"]}).score == 1.0
    assert grade("#### LA", reference={"answer": "New York", "aliases": ["NYC"]}).score == 0.0
    assert grade("#### 4", reference={"final_answer": "4"}).score == 1.0
    assert grade("#### x", reference={"answer": ""}).status is Status.NO_REFERENCE
    assert grade("#### x", reference={"other": "x"}, reference_key="missing").status is Status.NO_REFERENCE


def test_normalization_options_are_honoured():
    assert grade("#### paris", case_sensitive=True).score == 0.0
    assert grade("#### Paris!", strip_punctuation=False).score == 0.0
    assert grade("#### Ｐａｒｉｓ", nfkc=False).score == 0.0
    assert grade("#### the Eiffel Tower", reference="Eiffel Tower").score == 0.0
    assert grade("#### the Eiffel Tower", reference="Eiffel Tower", drop_articles=True).score == 1.0
    assert grade("#### New   York", reference="New York").score == 1.0
    assert grade("#### New   York", reference="New York", collapse_whitespace=False).score == 0.0


def test_punctuation_only_answer_never_matches():
    assert grade("#### ...", reference="...").status is Status.NO_REFERENCE
    assert grade("#### !!!\nwords").status is Status.UNSCORABLE


def test_bad_params_are_rejected():
    with pytest.raises(ParamError) as info:
        grader_class("exact").from_params({"markers": ["nope"]})
    assert info.value.key == "markers"
    with pytest.raises(ParamError):
        grader_class("exact").from_params({"extract": "last"})


@pytest.mark.parametrize("response", HOSTILE)
def test_hostile_responses_never_raise_or_pay(response):
    g = grade(response)
    assert g.score == 0.0 and g.status in (Status.OK, Status.UNSCORABLE)
