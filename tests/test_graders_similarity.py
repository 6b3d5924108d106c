"""``similarity``: token F1 or a rapidfuzz ratio against the reference text."""

from __future__ import annotations

import pytest

from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.results import Status
from reward.text import token_f1

REFERENCE = {"answer": "The quick brown fox jumps over the lazy dog"}


def grade(response, reference=REFERENCE, **params):
    grader = grader_class("similarity").from_params(params)
    return grader.grade(Sample(id="x", index=0, response=response, reference=reference))


def test_token_f1_formula():
    assert token_f1("a b c", "a b c") == 1.0
    assert token_f1("a b", "a b c d") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert token_f1("x", "a") == 0.0 and token_f1("", "a") == 0.0


def test_token_f1_grade_and_padding_lowers_it():
    assert grade("the quick brown fox jumps over the lazy dog!").score == 1.0
    padded = grade("The quick brown fox jumps over the lazy dog " + "lorem ipsum " * 50).score
    assert padded < 0.3


@pytest.mark.parametrize("metric", ["ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio"])
def test_rapidfuzz_metrics(metric):
    assert grade("The quick brown fox jumps over the lazy dog", metric=metric).score == 1.0
    assert grade("888", metric=metric).score < 0.3
    assert grade("\ud800 fox", metric=metric).status is Status.OK


def test_threshold_cuts_chance_overlap():
    g = grade("the dog", threshold=0.5)
    assert g.score == 0.0 and "threshold" in g.reason


def test_final_extract_and_hedging():
    assert (
        grade("Thinking...\n#### the quick brown fox jumps over the lazy dog", extract="final").score == 1.0
    )
    assert grade("no declaration here", extract="final").status is Status.UNSCORABLE
    g = grade("#### quick brown fox\n#### lazy dog", extract="final")
    assert g.score == 0.0 and g.status is Status.OK


def test_several_references_best_wins_and_missing_reference():
    assert grade("hello world", reference=["goodbye", "hello world"]).score == 1.0
    assert grade("hello", reference={"answer": ":"}).status is Status.NO_REFERENCE
    assert grade("hello", reference={"x": "hello"}, reference_key="x").score == 1.0


def test_bad_params_name_the_key():
    with pytest.raises(ParamError) as info:
        grader_class("similarity").from_params({"threshold": 1.5})
    assert info.value.key == "threshold"
    with pytest.raises(ParamError) as info:
        grader_class("similarity").from_params({"metric": "bleu"})
    assert info.value.key == "metric"


@pytest.mark.parametrize("response", ["", " ", ":", "\ud800", "\x00\xff" * 5000, "fox " * 250_000])
def test_hostile_responses_never_raise(response):
    for metric in ("token_f1", "ratio"):
        g = grade(response, metric=metric)
        assert 0.0 <= g.score <= 1.0
        if response.strip(" :") in ("", "\ud800"):
            assert g.status is Status.UNSCORABLE and g.score == 0.0
