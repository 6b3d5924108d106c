"""How dimension grades become one reward: weights, gates, vetoes and the error policy."""

from __future__ import annotations

import pytest

from reward.compose import compose
from reward.results import Grade, Status
from reward.spec import parse_spec


def spec(**overrides):
    dims = [
        {"name": "correctness", "grader": "numeric", "weight": 0.8},
        {"name": "format", "grader": "format", "weight": 0.2, "gate": "correctness"},
    ]
    for dim in dims:
        dim.update(overrides.get(dim["name"], {}))
        if dim.get("gate", "") is None:
            del dim["gate"]
    return parse_spec({"dimensions": dims, **overrides.get("top", {})})


def test_weighted_mean_of_judged_dimensions():
    aggregate, results = compose(spec(), [Grade.right(), Grade.partial(0.5)])
    assert aggregate == pytest.approx(0.8 * 1 + 0.2 * 0)
    assert [r.score for r in results] == [1.0, 0.0]


def test_a_gated_dimension_pays_nothing_when_its_gate_failed():
    aggregate, results = compose(spec(), [Grade.wrong(), Grade.right()])
    assert results[1].score == -1.0 and aggregate == -1.0


def test_a_gated_dimension_inherits_a_non_judgement_status_of_its_gate():
    aggregate, results = compose(spec(), [Grade.error("boom"), Grade.right()])
    assert [r.status for r in results] == [Status.ERROR, Status.ERROR]
    assert aggregate == 0.0 and not any(r.counted for r in results)


@pytest.mark.parametrize("policy,expected", [("exclude", 1.0), ("neutral", 0.8), ("floor", 0.6)])
def test_error_policy_decides_what_a_non_judgement_status_scores(policy, expected):
    s = spec(format={"gate": None, "on_error": policy})
    for ours in (Grade.error("x"), Grade.deadline(), Grade.no_reference()):
        aggregate, _ = compose(s, [Grade.right(), ours])
        assert aggregate == pytest.approx(expected)


@pytest.mark.parametrize("policy", ["exclude", "neutral", "floor"])
def test_a_timeout_is_the_responses_failure_whatever_the_policy(policy):
    """Grading the response overran its budget; that must never pay better than wrong."""
    s = spec(format={"gate": None, "on_error": policy})
    assert compose(s, [Grade.right(), Grade.timeout()])[0] == compose(s, [Grade.right(), Grade.wrong()])[0]


def test_a_failed_veto_forces_the_floor():
    s = parse_spec(
        {
            "dimensions": [
                {"name": "correctness", "grader": "numeric", "weight": 1},
                {"name": "safety", "grader": "format", "weight": 0, "veto": True},
            ]
        }
    )
    assert compose(s, [Grade.right(), Grade.wrong()])[0] == -1.0
    assert compose(s, [Grade.right(), Grade.right()])[0] == 1.0
    assert compose(s, [Grade.right(), Grade.error("x")])[0] == 1.0  # a crashed veto is not a failed veto


def test_unscorable_is_a_wrong_answer():
    assert compose(spec(), [Grade.unscorable("no answer"), Grade.unscorable("empty")])[0] == -1.0
