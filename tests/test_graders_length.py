"""``length``: full credit up to the target, linear penalty to 0 at the hard maximum."""

from __future__ import annotations

import pytest

from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.graders.length import measure
from reward.results import Status


def grade(response, reference=None, **params):
    grader = grader_class("length").from_params({"target": 10, "max": 20, **params})
    return grader.grade(Sample(id="x", index=0, response=response, reference=reference))


def words(n):
    return " ".join(["word"] * n)


@pytest.mark.parametrize(
    "n,credit", [(1, 1.0), (10, 1.0), (11, 0.9), (15, 0.5), (19, 0.1), (20, 0.0), (500, 0.0)]
)
def test_soft_overlong_penalty_is_linear(n, credit):
    g = grade(words(n))
    assert g.score == pytest.approx(credit) and g.status is Status.OK
    assert g.metrics["length"] == n


def test_units():
    assert measure("one two, three!", "words") == 3
    assert measure("abcdefgh", "tokens") == 2 and measure("abcdefghi", "tokens") == 3
    assert measure("  abc  ", "chars") == 3
    assert grade("x" * 40, unit="tokens").score == 1.0  # 10 tokens
    assert grade("x" * 60, unit="tokens").score == pytest.approx(0.5)


def test_min_length_is_a_hard_floor():
    assert grade(words(2), min=3).score == 0.0
    assert grade(words(3), min=3).score == 1.0


def test_relative_to_the_reference_length():
    params = {"relative": True, "target": 1.5, "max": 3.0}
    reference = {"answer": words(10)}
    assert grade(words(15), reference, **params).score == 1.0
    assert grade(words(30), reference, **params).score == 0.0
    assert grade(words(20), reference, **params).score == pytest.approx(2 / 3)
    assert grade(words(5), {"answer": "..."}, **params).status is Status.NO_REFERENCE
    assert grader_class("length").from_params(params).needs_reference is True
    assert grader_class("length").from_params({}).needs_reference is False


@pytest.mark.parametrize(
    "params,key",
    [({"max": 10}, "max"), ({"target": -1}, "target"), ({"min": 11}, "min"), ({"unit": "bytes"}, "unit")],
)
def test_bad_params_name_the_key(params, key):
    with pytest.raises(ParamError) as info:
        grader_class("length").from_params({"target": 10, "max": 20, **params})
    assert info.value.key == key


@pytest.mark.parametrize("response", ["", "   ", ":", "...", "\ud800", "\x00" * 50])
def test_degenerate_responses_are_unscorable(response):
    g = grade(response)
    assert g.status is Status.UNSCORABLE and g.score == 0.0


def test_giant_response_scores_zero_without_raising():
    assert grade("word " * 200_000).score == 0.0
