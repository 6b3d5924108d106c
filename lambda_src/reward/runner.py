"""Grade a batch of samples on every dimension of a spec, under a deadline, without ever raising."""

from __future__ import annotations

import time
from collections.abc import Sequence

from reward.event import Sample
from reward.results import Grade, Status, clamp01
from reward.spec import Spec


def grade_batch(spec: Spec, samples: Sequence[Sample], *, deadline: float | None = None) -> list[list[Grade]]:
    """Grades per sample, in order. ``deadline`` is a ``time.monotonic()`` instant: samples not started
    by then get status ``deadline`` so the reply still arrives in time."""
    out: list[list[Grade]] = []
    n_dims = len(spec.dimensions)
    for sample in samples:
        if deadline is not None and time.monotonic() >= deadline:
            out.append([Grade.deadline()] * n_dims)
            continue
        out.append(grade_sample(spec, sample))
    return out


def grade_sample(spec: Spec, sample: Sample) -> list[Grade]:
    """Every dimension's grade for one sample. Grader exceptions become status ``error``."""
    n_dims = len(spec.dimensions)
    if sample.problem:
        return [Grade.error(f"malformed sample: {sample.problem}")] * n_dims
    response = sample.response or ""
    if len(response) > spec.max_response_chars:
        return [
            Grade.unscorable(
                f"response is {len(response)} chars, over max_response_chars={spec.max_response_chars}"
            )
        ] * n_dims
    has_reference = sample.has_reference
    grades = []
    for grader in spec.graders:
        if grader.needs_reference and not has_reference:
            grades.append(Grade.no_reference())
            continue
        try:
            grade = grader.grade(sample)
        except Exception as exc:  # a grader bug must not fail the batch
            grade = Grade.error(f"{grader.name} grader raised {type(exc).__name__}: {str(exc)[:200]}")
        grades.append(_sanitize(grade, grader.name))
    return grades


def _sanitize(grade: object, grader_name: str) -> Grade:
    if not isinstance(grade, Grade):
        return Grade.error(f"{grader_name} grader returned {type(grade).__name__}, not a Grade")
    if not isinstance(grade.status, Status):
        return Grade.error(f"{grader_name} grader returned an unknown status {grade.status!r}")
    score = clamp01(grade.score)
    return grade if score == grade.score else Grade(score, grade.status, grade.reason, grade.metrics)
