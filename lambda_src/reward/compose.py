"""From per-dimension grades to one reward in [-1, 1] and the reply element Bedrock expects.

Rules (docs/reward-specs.md, "How a reward is composed", says the same):
- a judged dimension (status ok/unscorable) scores ``2 * credit - 1``;
- a gated dimension pays only when its gate passed (status ok and credit >= the gate's ``pass_at``);
  otherwise it scores -1, and it inherits the gate's status when the gate was not judged;
- a ``timeout`` is the response's failure (grading *it* overran the budget): scored like a wrong answer
  (-1), whatever ``on_error`` says, so a response that stalls the grader never beats an honest mistake;
- a dimension whose status says nothing about the response (no_reference, error, deadline) follows its
  ``on_error`` policy: ``exclude`` (left out of the aggregate, reported as 0), ``neutral`` (0) or ``floor`` (-1);
- the aggregate is the weighted mean of the counted dimensions (0 when none is counted), clipped;
- a ``veto`` dimension that was judged and did not pass forces the aggregate to -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reward.contract import json_safe
from reward.event import Sample
from reward.results import DimensionResult, Grade, Status, clamp_reward
from reward.spec import Spec

_POLICY_SCORE = {"neutral": 0.0, "floor": -1.0}


def _passed(grade: Grade, pass_at: float) -> bool:
    return grade.status is Status.OK and grade.score >= pass_at


def compose(spec: Spec, grades: Sequence[Grade]) -> tuple[float, list[DimensionResult]]:
    """The aggregate reward and each dimension's result, for one sample's grades (in spec order)."""
    by_name = {d.name: (d, g) for d, g in zip(spec.dimensions, grades)}
    results: list[DimensionResult] = []
    total = 0.0
    weights = 0.0
    vetoed = False
    for dimension, grade in zip(spec.dimensions, grades):
        status = grade.status
        reason = grade.reason
        if dimension.gate is not None:
            gate_dim, gate_grade = by_name[dimension.gate]
            if not gate_grade.status.charged_to_response:
                status, reason = gate_grade.status, f"gate {gate_dim.name!r}: {gate_grade.reason}"
            elif status.charged_to_response and not _passed(gate_grade, gate_dim.pass_at):
                status, reason = Status.OK, f"gate {gate_dim.name!r} not passed"
                grade = Grade(0.0, Status.OK, reason, grade.metrics)
        if status.is_judgement:
            score = clamp_reward(2.0 * grade.score - 1.0)
            counted = True
            if dimension.veto and not _passed(grade, dimension.pass_at):
                vetoed = True
        elif status in (Status.TIMEOUT, Status.FAILED):  # the response's doing: a wrong answer, veto fires
            score, counted = -1.0, True
            vetoed = vetoed or dimension.veto
        elif dimension.on_error == "exclude":
            score, counted = 0.0, False
        else:
            score, counted = _POLICY_SCORE[dimension.on_error], True
        if counted and dimension.weight > 0:
            total += dimension.weight * score
            weights += dimension.weight
        results.append(DimensionResult(dimension.name, score, status, counted, reason, grade.metrics))
    aggregate = -1.0 if vetoed else (clamp_reward(total / weights) if weights else 0.0)
    return aggregate, results


def reply_element(sample: Sample, aggregate: float, results: Sequence[DimensionResult]) -> dict[str, Any]:
    """One element of the Lambda's reply (docs/contract.md §1): id echoed, score, metrics_list."""
    metrics: list[dict[str, Any]] = [{"name": r.name, "value": r.score, "type": "Reward"} for r in results]
    for r in results:
        if r.status is not Status.OK:
            metrics.append({"name": f"{r.name}.status.{r.status.value}", "value": 1.0, "type": "Metric"})
        for key, value in r.metrics.items():
            metrics.append({"name": f"{r.name}.{key}", "value": _finite(value), "type": "Metric"})
    metrics.append({"name": "response_chars", "value": float(len(sample.response or "")), "type": "Metric"})
    sample_id = sample.id
    if type(sample_id) is not str or not sample_id.isascii():  # the service's ids: echoed untouched
        sample_id = json_safe(sample_id)
    return {"id": sample_id, "aggregate_reward_score": clamp_reward(aggregate), "metrics_list": metrics}


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0
