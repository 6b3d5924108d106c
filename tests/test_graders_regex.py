"""``regex``: fraction of shape checks satisfied; catastrophic patterns refused; long inputs capped."""

from __future__ import annotations

import pytest

from reward.event import Sample
from reward.graders import grader_class
from reward.graders.base import ParamError
from reward.results import Status
from tests.cpu_budget import within_cpu_seconds

THINK = {
    "must_match": [r"<think>.+?</think>", r"^Answer: \w+\s*\Z"],
    "must_not_match": [r"(?i)as an ai"],
    "dotall": True,
}


def grade(response, **params):
    grader = grader_class("regex").from_params(params or THINK)
    return grader.grade(Sample(id="x", index=0, response=response))


def test_credit_is_the_fraction_of_checks_satisfied():
    assert grade("<think>2+2</think>\nAnswer: 4").score == 1.0
    assert grade("<think>2+2</think>\nIt is 4").score == pytest.approx(2 / 3)
    assert grade("As an AI, <think>x</think> 4").score == pytest.approx(1 / 3)
    assert grade("As an AI, 4").score == 0.0


def test_fullmatch_requires_the_whole_response():
    params = {"must_match": [r"<think>.*</think>\s*Answer: \w+"], "fullmatch": True, "dotall": True}
    assert grade("  <think>x</think> Answer: 4\n", **params).score == 1.0
    assert grade("Hello <think>x</think> Answer: 4", **params).score == 0.0


def test_ignore_case_and_multiline_flags():
    assert grade("FINAL: yes", must_match=["final:"], ignore_case=True).score == 1.0
    assert grade("FINAL: yes", must_match=["final:"]).score == 0.0
    assert grade("a\nb", must_match=["^b$"]).score == 1.0
    assert grade("a\nb", must_match=["^b$"], multiline=False).score == 0.0


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"^(\w+\s*)*$", r"(x+,?)+y", r"((ab)*c?)*"])
def test_nested_unbounded_repeats_are_rejected_at_load(pattern):
    with pytest.raises(ParamError) as info:
        grader_class("regex").from_params({"must_match": [pattern]})
    assert info.value.key == "must_match" and "possessive" in str(info.value)


@pytest.mark.parametrize(
    "pattern", [r"^\d+(?:,\d+)*$", r"(?:\w+\s)+", r"^(\w++\s*)*$", r"(?>\w+\s*)*", r"<think>.*</think>"]
)
def test_safe_repeats_are_allowed_and_fast(pattern):
    grader = grader_class("regex").from_params({"must_match": [pattern]})
    # A CPU-time budget, not a wall clock: a catastrophic backtrack on 5,000 chars needs years of CPU.
    grade = within_cpu_seconds(10, grader.grade, Sample(id="x", index=0, response="a" * 5000 + "!"))
    assert grade.status is Status.OK


def test_long_responses_are_not_matched():
    g = grade("<think>x</think>\nAnswer: 4" + " " * 30, must_match=["Answer"], max_chars=20)
    assert g.status is Status.UNSCORABLE and "max_chars" in g.reason


@pytest.mark.parametrize(
    "params,key",
    [
        ({}, "must_match"),
        ({"must_match": ["("]}, "must_match"),
        ({"must_not_match": ["[z-a]"]}, "must_not_match"),
        ({"must_match": ["a"], "max_chars": 0}, "max_chars"),
    ],
)
def test_bad_params_name_the_key(params, key):
    with pytest.raises(ParamError) as info:
        grader_class("regex").from_params(params)
    assert info.value.key == key


@pytest.mark.parametrize("response", ["", " \n", ":", "...", "\ud800", "\x00" * 100])
def test_degenerate_responses_are_unscorable_even_with_only_must_not_match(response):
    g = grade(response, must_not_match=["forbidden"])
    assert g.status is Status.UNSCORABLE and g.score == 0.0


@pytest.mark.parametrize("response", ["\ud800 abc", "\x00\xff abc" * 10_000, "x" * 1_000_000])
def test_hostile_responses_never_raise(response):
    g = grade(response)
    assert 0.0 <= g.score <= 1.0


def test_a_pattern_that_backtracks_is_that_responses_failure(monkeypatch):
    """A pattern that backtracks on one response is that response's failure (charged: scored like a wrong
    answer) after the pattern's time limit, and the other sample of the batch is graded. The load-time shape check would
    reject this pattern, so it is bypassed here: the time limit is the guard for shapes it cannot know."""
    from pathlib import Path

    import reward.graders.regex as regex_grader
    from reward.runner import grade_batch
    from reward.spec import parse_spec

    monkeypatch.setattr(regex_grader, "risky_shape", lambda *_: None)
    table = {
        "sample_timeout_s": 3.0,
        "dimensions": [
            {"name": "shape", "grader": "regex", "params": {"must_match": [r"(\w+\s?)*$"]}},
        ],
    }
    spec = parse_spec(table, Path("slow_regex.toml"))
    samples = [
        Sample(id="slow", index=0, response="a" * 5_000 + "!"),
        Sample(id="fast", index=1, response="ab"),
    ]
    slow, fast = grade_batch(spec, samples)
    assert slow[0].status is Status.FAILED and slow[0].status.charged_to_response
    assert "backtracking" in slow[0].reason
    assert fast[0].score == 1.0
