"""Peer check: our math equivalence (``math_equivalent``) against Math-Verify 0.9.0's own labelled cases.

The 268 cases come from math-verify's test suite (a copy of the peer corpus ``shared/data/peer/``, kept in
``tests/fixtures/peer/`` so a lone clone runs them; see its README); each is run with
the options its original test used. Our anchored extraction is a separate layer (tested in
``test_math_grader.py``): this pins the equivalence check the grader calls after extraction.
Requirement: >= 98% agreement overall and 100% on every ``expected: 0`` case (a false "equivalent" pays
a wrong answer). Every disagreement we keep is listed below with its reason; a new one fails the test,
and so does a listed one that no longer disagrees (keep the list honest).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reward.graders.math import MathOptions, math_equivalent

CASES = Path(__file__).resolve().parent / "fixtures" / "peer" / "math-verify-cases.jsonl"

# id -> why we accept answering differently from the label. Empty: we agree on all 268 cases.
KNOWN_DISAGREEMENTS: dict[str, str] = {}


def options_for(case: dict) -> MathOptions:
    """The options the original math-verify test used for this case."""
    # math-verify's soft limit is signal.alarm (wall-clock, main thread); its default 5 s turned slow sympy
    # calls into "not equivalent" on a busy machine. No case of the suite needs a timeout to pass.
    timeout = 60
    if case["helper"] == "verify":  # verify(parse(gold), parse(pred)) with every default
        return MathOptions(timeout_s=timeout)
    return MathOptions(  # tests/test_all.py compare_strings(): LatexExtractionConfig(boxed_match_priority=0)
        match_types=tuple(case.get("match_types") or ("latex", "expr")),
        precision=case.get("precision", 6),
        strict=case.get("strict", True),
        allow_set_relation_comp=case.get("allow_set_relation_comp", False),
        boxed_match_priority=0,
        timeout_s=timeout,
    )


@pytest.fixture(scope="module")
def outcomes() -> dict[str, tuple[int, int]]:
    if not CASES.exists():
        pytest.fail(f"{CASES} is missing: restore tests/fixtures/peer/ (a copy of shared/data/peer/)")
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {
        c["id"]: (c["expected"], int(math_equivalent(c["gold"], c["pred"], options_for(c)))) for c in cases
    }


def test_all_268_cases_are_run(outcomes):
    assert len(outcomes) == 268


def test_agreement_is_at_least_98_percent(outcomes):
    agreed = sum(expected == got for expected, got in outcomes.values())
    assert agreed / len(outcomes) >= 0.98, f"{agreed}/{len(outcomes)} agree"


def test_every_negative_case_is_judged_not_equivalent(outcomes):
    false_positives = [cid for cid, (expected, got) in outcomes.items() if expected == 0 and got == 1]
    assert false_positives == []


def test_disagreements_are_exactly_the_documented_ones(outcomes):
    disagreements = {cid for cid, (expected, got) in outcomes.items() if expected != got}
    assert disagreements - set(KNOWN_DISAGREEMENTS) == set(), "new disagreements: document or fix them"
    assert set(KNOWN_DISAGREEMENTS) - disagreements == set(), "stale entries in KNOWN_DISAGREEMENTS"
