"""The ``math`` grader: anchored extraction, hedging rule and math-verify equivalence (graded inline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reward.event import Message, Sample
from reward.graders.base import ParamError
from reward.graders.math import MathGrader, MathParams, reference_text
from reward.results import Status
from reward.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
HALF = {"final_answer": "\\frac{1}{2}"}


def grade(response: str, reference=HALF, **params):
    # math-verify's soft limit (signal.alarm, wall-clock) well above its 5 s default: these tests check
    # what is equivalent, and a busy machine must not turn a slow sympy call into a wrong answer.
    params.setdefault("timeout_s", 60)
    grader = MathGrader(MathParams(**params))
    return grader.grade(Sample("s1", 0, (Message("user", "q"),), response, reference))


@pytest.mark.parametrize(
    "response",
    [
        "So the result is \\boxed{\\frac{1}{2}}.",
        "\\boxed{0.5}",
        "\\boxed{\\dfrac{2}{4}}",
        "\\boxed{1/2}",
        "#### 0.5",
        "The final answer is $\\frac{1}{2}$.",
        "The final answer is $\\boxed{\\frac12}$. I hope it is correct.",
        "the answer is 1/2",
        "\\boxed{x = \\frac{1}{2}}",
    ],
)
def test_equivalent_forms_of_the_reference_get_full_credit(response):
    assert grade(response).score == 1.0


@pytest.mark.parametrize(
    "reference",
    [
        "\\frac{1}{2}",
        "1/2",
        "0.5",
        0.5,
        {"final_answer": "1/2"},
        {"answer": "$\\frac{1}{2}$"},
        "Work.\n#### 1/2",
    ],
)
def test_latex_and_plain_references_are_both_understood(reference):
    assert grade("\\boxed{\\frac{1}{2}}", reference).score == 1.0


@pytest.mark.parametrize(
    ("response", "reference"),
    [
        ("\\boxed{x^2+2x+1}", "(x+1)^2"),
        ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}"),
        ("\\boxed{\\{3, -2\\}}", "\\{-2, 3\\}"),
        ("\\boxed{x = -2 \\text{ or } x = 3}", "\\{-2, 3\\}"),
        ("\\boxed{-2, 3}", "\\{-2, 3\\}"),
        ("\\boxed{(-\\infty, 4)}", "(-\\infty, 4)"),
        ("\\boxed{60^\\circ}", "60"),
    ],
)
def test_symbolic_equivalences(response, reference):
    assert grade(response, {"final_answer": reference}).score == 1.0


@pytest.mark.parametrize(
    "response",
    [
        "\\boxed{\\frac{1}{2} \\text{ or } \\frac{1}{3}}",  # a disjunction against a single value
        "\\boxed{0.5 or 0.6}",
        "\\boxed{maybe 1/2}",
        "The final answer is possibly 1/2.",
        "\\boxed{\\frac{1}{2}, \\frac{1}{3}}",  # a list never equals a single value
        "\\boxed{0.5} ... on second thought \\boxed{0.25}",  # conflicting declarations
        "#### 0.5\nThe answer is 0.25.",
        "\\boxed{0.25}",
        "".join(f"\\boxed{{{k}}}" for k in range(1, 12)),  # shotgun
    ],
)
def test_hedged_conflicting_or_wrong_answers_get_no_credit(response):
    result = grade(response)
    assert result.score == 0.0
    assert result.status is Status.OK


def test_a_disjunction_listing_every_solution_of_a_set_reference_is_right():
    assert grade("\\boxed{x=2 \\text{ or } x=3}", {"final_answer": "\\{2, 3\\}"}).score == 1.0
    assert (
        grade("\\boxed{x=2 \\text{ or } x=3 \\text{ or } x=4}", {"final_answer": "\\{2, 3\\}"}).score == 0.0
    )
    assert grade("\\boxed{x=2 \\text{ or } x=3}", {"final_answer": "2"}).reason.startswith("hedged")


@pytest.mark.parametrize(
    "response",
    ["", ":", "Thought process:", "Let's solve this problem step by step.", "0.5", "\\boxed{0.5"],
)
def test_no_declared_answer_is_unscorable(response):
    result = grade(response)
    assert (result.score, result.status) == (0.0, Status.UNSCORABLE)


@pytest.mark.parametrize("response", ["\\boxed{}", "\\boxed{\\frac{1}{2}\\right)}", "#### ((("])
def test_invalid_latex_is_unscorable_not_rewarded(response):
    result = grade(response)
    assert result.score == 0.0
    assert result.status in (Status.UNSCORABLE, Status.OK)


def test_empty_box_is_reported_as_not_valid_math():
    result = grade("\\boxed{}")
    assert result.status is Status.UNSCORABLE
    assert "not valid math" in result.reason


@pytest.mark.parametrize("reference", [None, {}, {"other": "1"}, "", True, float("nan")])
def test_missing_reference_is_no_reference(reference):
    assert grade("\\boxed{1}", reference).status is Status.NO_REFERENCE


def test_unparseable_reference_is_no_reference_not_a_wrong_answer():
    assert grade("\\boxed{1}", {"final_answer": "\\frac{1}{"}).status is Status.NO_REFERENCE


def test_options_reach_math_verify():
    assert grade("\\boxed{0.3333}", {"final_answer": "1/3"}, precision=3).score == 1.0
    assert grade("\\boxed{0.3333}", {"final_answer": "1/3"}, precision=6).score == 0.0
    assert grade("\\boxed{f(y)}", {"final_answer": "f(x)"}, strict=True).score == 0.0
    assert grade("\\boxed{f(y)}", {"final_answer": "f(x)"}, strict=False).score == 1.0
    assert grade("\\boxed{x \\in [1, 2]}", {"final_answer": "1 \\le x \\le 2"}).score == 1.0


def test_markers_can_be_restricted_to_boxed():
    assert grade("#### 0.5", markers=("boxed",)).status is Status.UNSCORABLE


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("markers", ("nope",)),
        ("match_types", ("text",)),
        ("precision", -1),
        ("timeout_s", 0.0),
        ("max_declarations", 0),
    ],
)
def test_bad_params_are_rejected_with_the_key(key, value):
    with pytest.raises(ParamError) as info:
        MathParams(**{key: value})
    assert info.value.key == key


def test_reference_text_prefers_the_declared_answer_of_a_solution():
    assert reference_text("We add.\n#### \\frac{3}{4}", "final_answer") == "\\frac{3}{4}"
    assert reference_text({"final_answer": 7}, "final_answer") == "7"


def test_math_spec_loads_and_matches_its_dataset():
    spec = load_spec(ROOT / "reward_specs/math.toml")
    assert spec.heavy and "math" in spec.graders_used
    row = json.loads((ROOT / "data/math/train.jsonl").read_text().splitlines()[0])
    assert (
        MathGrader.from_params(spec.dimensions[0].params)
        .grade(
            Sample(
                "s", 0, (), f"\\boxed{{{row['reference_answer']['final_answer']}}}", row["reference_answer"]
            )
        )
        .score
        == 1.0
    )


#: (The botocore *package* is imported by Powertools' __init__ for its User-Agent hook; boto3 is not.)
HEAVY_MODULES = ("sympy", "math_verify", "latex2sympy2_extended", "boto3")


@pytest.mark.parametrize("spec", ["reward_specs/gsm8k.toml", "reward_specs/math.toml"])
def test_importing_the_handler_imports_no_heavy_dependency(spec):
    """Cold start: sympy / math-verify load on the first heavy sample, boto3 only for a judge."""
    code = (
        "import sys, reward.handler; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_MODULES!r})))"
    )
    env = {**os.environ, "REWARD_SPEC": str(ROOT / spec), "PYTHONPATH": str(ROOT / "lambda_src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
