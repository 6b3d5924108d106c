"""Agreement of the ``math`` and ``numeric`` graders with the field's answer checkers, case by case.

Two corpora (see ``tests/fixtures/peer/README.md`` for where each case comes from and its licence):

- ``field-cases.jsonl``: grading cases (a reference and a whole response) ported from other projects'
  answer-checking tests — TRL's accuracy rewards, verl's ``math_dapo``, Qwen2.5-Math's grader, AReaL's
  math-verify reward — plus the failure classes found in this project's answer-checking audit. Each names its grader and options;
  ``expected`` is 1 (credit), 0 (no credit: wrong or unscorable) or null (the reference cannot be graded:
  our ``no_reference``).
- ``math-verify-cases.jsonl``: math-verify's own labelled equivalence cases, graded here *through the
  whole grader*: a bare prediction becomes a response declaring it (``The final answer is
  $\\boxed{...}$``); a prediction that already has a ``\\boxed`` is the response as is; a prediction in
  free text without one (math-verify finds the last expression in prose) is the response as is and
  marked *not genuine*: our graders never read an undeclared answer (anchored extraction, a deliberate
  policy), so such a case measures that policy, not answer checking.

The agreement that counts is on genuine cases; ``main`` prints both.

``python -m tests.field_agreement`` prints the agreement and every disagreement;
``tests/test_field_agreement.py`` holds the line (>= 97%, every disagreement a documented policy).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PEER = Path(__file__).resolve().parent / "fixtures" / "peer"
FIELD_CASES = PEER / "field-cases.jsonl"
MATH_VERIFY_CASES = PEER / "math-verify-cases.jsonl"

_OUTER = re.compile(r"^\s*(?:\$\$?|\\\(|\\\[)(.*?)(?:\$\$?|\\\)|\\\])\s*$", re.DOTALL)
_GRADER_OPTIONS = ("precision", "strict", "allow_set_relation_comp", "match_types")
_MATH_SPAN = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL)
_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def _free_text(pred: str) -> bool:
    """Words outside the math: the prediction is prose in which math-verify finds the answer itself."""
    return bool(_WORD.search(_MATH_SPAN.sub(" ", pred).replace("\\text", " ")))


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def math_verify_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """A math-verify equivalence case as a grading case: the prediction declared as the final answer."""
    pred = case["pred"]
    genuine = True
    if "\\boxed" in pred:
        response = pred
    elif _free_text(pred):
        response, genuine = pred, False
    elif list(case.get("match_types") or ()) == ["expr"]:
        response = f"#### {pred}"  # plain-expression extraction only: a GSM8K-style declaration
    else:
        m = _OUTER.match(pred)
        inner = m.group(1).strip() if m else pred.strip()
        response = f"The final answer is $\\boxed{{{inner}}}$."
    params = {k: case[k] for k in _GRADER_OPTIONS if k in case}
    if "match_types" in params:
        params["match_types"] = list(params["match_types"])
    return {
        "id": f"math-verify:{case['id']}",
        "source": "huggingface/Math-Verify tests (Apache-2.0)",
        "grader": "math",
        "reference": case["gold"],
        "response": response,
        "expected": case["expected"],
        "params": params,
        "genuine": genuine,
    }


def cases() -> list[dict[str, Any]]:
    """Every grading case of both corpora."""
    return _read(FIELD_CASES) + [math_verify_case(c) for c in _read(MATH_VERIFY_CASES)]


def verdict(case: Mapping[str, Any]) -> int | None:
    """1 (credit), 0 (no credit) or None (no_reference / not gradable) from our grader for ``case``."""
    from reward.event import Sample
    from reward.results import Status
    from reward.runner import grade_dimensions
    from reward.spec import SpecError, parse_spec

    params = dict(case.get("params") or {})
    if case["grader"] == "math":
        params["timeout_s"] = 120  # a loaded machine must not turn a slow sympy proof into a verdict
    for key in ("ordered_lists", "prose_references"):
        if key in case:
            params[key] = case[key]
    table: dict[str, Any] = {
        "dimensions": [{"name": "answer", "grader": case["grader"], "params": params}],
    }
    if case.get("answer_after"):
        table["answer_after"] = case["answer_after"]
    try:
        spec = parse_spec(table)
    except SpecError:  # an older version of the graders (measuring "before"): without the new options
        table.pop("answer_after", None)
        for key in ("ordered_lists", "prose_references"):
            params.pop(key, None)
        spec = parse_spec(table)
    sample = Sample(id=case["id"], index=0, response=case["response"], reference=case["reference"])
    grade = grade_dimensions(spec, sample, [0])[0]
    if grade.status is Status.NO_REFERENCE:
        return None
    if grade.status in (Status.OK, Status.UNSCORABLE):
        return 1 if grade.score >= 1.0 else 0
    return -1  # error / timeout: never agreement


def measure(selected: Iterable[Mapping[str, Any]]) -> tuple[int, int, list[tuple[str, Any, Any]]]:
    """(agreed, total, disagreements as (id, expected, ours))."""
    agreed, total, disagreements = 0, 0, []
    for case in selected:
        ours = verdict(case)
        total += 1
        if ours == case["expected"]:
            agreed += 1
        else:
            disagreements.append((case["id"], case["expected"], ours))
    return agreed, total, disagreements


def main() -> int:
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    all_cases = cases()
    agreed, total, disagreements = measure(all_cases)
    genuine = [c for c in all_cases if c.get("genuine", True)]
    wrong_ids = {d[0] for d in disagreements}
    genuine_agreed = sum(1 for c in genuine if c["id"] not in wrong_ids)
    print(f"genuine grading cases: {genuine_agreed}/{len(genuine)} = {genuine_agreed / len(genuine):.1%}")
    by_source: dict[str, list[int]] = {}
    for case in all_cases:
        by_source.setdefault(case["source"], []).append(case["id"])
    print(f"agreement: {agreed}/{total} = {agreed / total:.1%}")
    wrong = {d[0] for d in disagreements}
    for source, ids in by_source.items():
        ok = sum(1 for i in ids if i not in wrong)
        print(f"  {ok:>4}/{len(ids):<4} {source}")
    flags = {c["id"]: c.get("genuine", True) for c in all_cases}
    for case_id, expected, ours in disagreements:
        kind = "" if flags[case_id] else " (not genuine: undeclared answer in free text)"
        print(f"  disagree {case_id}: expected {expected}, ours {ours}{kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
