"""``terms``: required terms give a fraction, any forbidden term zeroes the credit (and can veto)."""

from __future__ import annotations

import pytest

from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.results import Status


def grade(response, reference=None, **params):
    grader = grader_class("terms").from_params(params)
    return grader.grade(Sample(id="x", index=0, response=response, reference=reference))


BRAND = {"required": ["Northwind", "free returns"], "forbidden": ["cure", "risk-free", "#1"]}


def test_required_fraction_and_forbidden_veto():
    assert grade("Northwind offers free returns.", **BRAND).score == 1.0
    assert grade("Northwind ships fast.", **BRAND).score == pytest.approx(0.5)
    g = grade("Northwind: free returns and a cure for boredom.", **BRAND)
    assert g.score == 0.0 and "cure" in g.reason


def test_word_boundaries_and_phrases():
    assert grade("A secure checkout.", **BRAND).score == pytest.approx(0.0)  # nothing required found
    assert grade("Northwind, free returns, secure checkout.", **BRAND).score == 1.0  # "cure" not in "secure"
    assert grade("We are #1 at Northwind free\n returns", **BRAND).score == 0.0  # "#1" is found as a term
    assert grade("Northwind free    returns", **BRAND).score == 1.0
    assert grade("A secure checkout", forbidden=["cure"], word_boundary=False).score == 0.0


def test_case_sensitivity():
    assert grade("northwind FREE RETURNS", **BRAND).score == 1.0
    assert grade("northwind FREE RETURNS", case_sensitive=True, **BRAND).score == 0.0


@pytest.mark.parametrize("evasion", ["cu\u200bre", "ｃｕｒｅ", "CURE", "cu\u00adre"])
def test_invisible_and_lookalike_characters_cannot_hide_a_forbidden_term(evasion):
    assert grade(f"Northwind free returns {evasion} now", **BRAND).score == 0.0


def test_row_specific_required_terms_from_the_reference():
    params = {"forbidden": ["cure"], "reference_key": "must_mention"}
    assert grade("R2 and R4 apply", {"must_mention": ["R2", "R4"]}, **params).score == 1.0
    assert grade("R2 applies", {"must_mention": ["R2", "R4"]}, **params).score == pytest.approx(0.5)
    assert grade("R2 applies", {"other": 1}, **params).score == 1.0


def test_no_terms_at_all_is_a_param_error():
    with pytest.raises(ParamError) as info:
        grader_class("terms").from_params({})
    assert info.value.key == "required"
    with pytest.raises(ParamError):
        grader_class("terms").from_params({"forbidden": ["  "]})


@pytest.mark.parametrize("response", ["", " \t", ":", "!!!", "\ud800"])
def test_degenerate_responses_are_unscorable_so_a_veto_fires(response):
    g = grade(response, forbidden=["cure"])
    assert g.status is Status.UNSCORABLE and g.score == 0.0


@pytest.mark.parametrize("response", ["\ud800 cure", "\x00\xff" * 10_000, "Northwind " * 100_000])
def test_hostile_responses_never_raise(response):
    assert 0.0 <= grade(response, **BRAND).score <= 1.0
