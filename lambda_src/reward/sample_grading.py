"""Grading one sample, in this process: the pure per-sample step below the batch runner
(``reward.runner``) and the worker processes (``reward.workers``), which both use it — and the one place
that decides who pays for a failure (``settle``; docs/time-limits.md).

A dimension that could not be graded is the response's failure (``failed``: scored like a wrong answer,
vetoes fire) unless its grader raised — or, for a batched grader, handed back — ``InfrastructureError``
(then ``error``, which follows the spec's ``on_error``). A grader cannot produce ``error`` any other way:
a returned ``Grade`` with status ``error`` counts as ``failed``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from reward.event import Sample
from reward.results import Grade, InfrastructureError, Status, clamp01
from reward.spec import Spec


def sample_budget(spec: Spec) -> float:
    """Seconds a sample's heavy dimensions may take: ``spec.sample_timeout_s``, unless heavy graders set
    their own ``timeout_s`` (then the largest of those, a grader without one counting the spec's)."""
    heavy = [g for g in spec.graders if g.heavy]
    overrides = [getattr(g, "timeout_s", None) for g in heavy]
    if all(t is None for t in overrides):
        return spec.sample_timeout_s
    return max(t if t is not None else spec.sample_timeout_s for t in overrides)


def refusal(spec: Spec, sample: Sample) -> Grade | None:
    """The grade every dimension gets when the sample is not graded at all."""
    if sample.problem:  # e.g. no assistant message at the end: what reached us is not a gradable response
        return Grade.failed(f"malformed sample: {sample.problem}")
    response = sample.response or ""
    if len(response) > spec.max_response_chars:
        return Grade.unscorable(
            f"response is {len(response)} chars, over max_response_chars={spec.max_response_chars}"
        )
    return None


def grade_sample(spec: Spec, sample: Sample) -> list[Grade]:
    """Every dimension's grade for one sample, all inline (no worker, no hard time limit).

    Grader exceptions are settled by ``settle_exception``."""
    refused = refusal(spec, sample)
    if refused is not None:
        return [refused] * len(spec.dimensions)
    return grade_dimensions(spec, sample, range(len(spec.dimensions)))


def grade_dimensions(spec: Spec, sample: Sample, dims: Sequence[int] | range) -> list[Grade]:
    """Grades of the dimensions ``dims`` (indices into the spec) for one sample, inline, settled
    (``_sanitize``: who pays decided)."""
    graders = spec.graders
    return [settle(g, graders[i].name) for i, g in zip(dims, grade_dimensions_unsettled(spec, sample, dims))]


def grade_dimensions_unsettled(
    spec: Spec, sample: Sample, dims: Sequence[int] | range
) -> list[Grade | BaseException | object]:
    """What each grader of ``dims`` answered for one sample, inline, before ``_sanitize`` decides who pays
    (a worker process sends these to the runner, which settles them; an ``InfrastructureError`` stays an
    exception so that it crosses the pipe as the grader's own signal).

    With ``spec.answer_after`` (e.g. ``"</think>"``), graders that read the declared answer
    (``Grader.reads_answer``) see only what follows the delimiter's last occurrence; without the delimiter
    (reasoning cut off, or never closed) they answer ``unscorable``: truncated reasoning earns nothing.

    Every grader is linear in the response (tests/test_grading_cost.py), so an inline grade is bounded
    by ``max_response_chars``; should a sample still take longer than ``spec.sample_timeout_s`` (a
    custom grader, a spec's own regex), its judged grades become ``timeout``: a response that is slow to
    grade never keeps the credit it got (heavy graders are killed at that budget instead, in workers)."""
    has_reference = sample.has_reference
    graders = spec.graders
    answer_sample: Sample | Grade | None = None
    started = time.monotonic()
    grades: list[Grade | BaseException | object] = []
    for i in dims:
        grader = graders[i]
        if grader.needs_reference and not has_reference:
            grades.append(Grade.no_reference())
            continue
        target = sample
        if spec.answer_after and grader.reads_answer:
            if answer_sample is None:
                answer_sample = answer_part(sample, spec.answer_after)
            if isinstance(answer_sample, Grade):
                grades.append(answer_sample)
                continue
            target = answer_sample
        try:
            grades.append(grader.grade(target))
        except InfrastructureError as exc:
            grades.append(exc)
        except Exception as exc:  # a grader failing on a response must not fail the batch
            grades.append(settle_exception(exc, grader.name))
    took = time.monotonic() - started  # one look per sample: this runs 20,000+ times a second
    if took > spec.sample_timeout_s:
        reason = f"grading took {took:.1f} s, over the {spec.sample_timeout_s:g} s budget"
        grades = [
            Grade.timeout(reason) if isinstance(g, Grade) and g.status.is_judgement else g for g in grades
        ]
    return grades


def answer_part(sample: Sample, delimiter: str) -> Sample | Grade:
    """The sample with its response cut to what follows ``delimiter``, or the unscorable grade."""
    from dataclasses import replace

    from reward.answers import after_delimiter

    rest = after_delimiter(sample.response or "", delimiter)
    if rest is None:
        return Grade.unscorable(
            f"no {delimiter!r} in the response (answer_after): the reasoning is unclosed or truncated, "
            "so no answer was declared after it"
        )
    return replace(sample, response=rest)


def settle_exception(exc: BaseException, grader_name: str) -> Grade:
    """The grade of a dimension whose grader raised ``exc`` on a response: ``error`` (ours, follows
    ``on_error``) only for ``InfrastructureError``; anything else is the response's failure."""
    if isinstance(exc, InfrastructureError):  # ours: the reason says what to fix, keep it whole
        text = str(exc)[:1000]
        reason = text if text.startswith(grader_name) else f"{grader_name}: {text}"
        return Grade(0.0, Status.ERROR, reason, dict(getattr(exc, "metrics", {}) or {}))
    text = str(exc)[:200]
    return Grade.failed(f"{grader_name} grader raised {type(exc).__name__}: {text}")


def settle(grade: object, grader_name: str) -> Grade:
    """A grader's answer as a well-formed ``Grade``: the one place that decides who pays (module doc)."""
    if isinstance(grade, BaseException):  # a batched grader hands back a sample's exception
        return settle_exception(grade, grader_name)
    if not isinstance(grade, Grade):
        return Grade.failed(f"{grader_name} grader returned {type(grade).__name__}, not a Grade")
    if not isinstance(grade.status, Status):
        return Grade.failed(f"{grader_name} grader returned an unknown status {grade.status!r}")
    if grade.status is Status.ERROR:  # only InfrastructureError makes a failure ours
        return Grade(0.0, Status.FAILED, grade.reason, grade.metrics)
    score = grade.score
    if type(score) is float and 0.0 <= score <= 1.0:  # the common case, without a call
        return grade
    score = clamp01(score)
    return grade if score == grade.score else Grade(score, grade.status, grade.reason, grade.metrics)


__all__ = [
    "answer_part",
    "grade_dimensions",
    "grade_dimensions_unsettled",
    "grade_sample",
    "refusal",
    "sample_budget",
    "settle",
    "settle_exception",
]
