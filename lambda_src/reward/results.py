"""What a grader returns and what a dimension reports: scores with an explicit status."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """Why a score is what it is. Only ``ok`` and ``unscorable`` are judgements of the response."""

    OK = "ok"
    UNSCORABLE = "unscorable"  # e.g. no final answer found: a wrong answer, scored as such
    NO_REFERENCE = "no_reference"  # the dataset row lacks what the grader needs
    ERROR = "error"  # the grader crashed (or a judge failed)
    TIMEOUT = "timeout"  # grading the response overran its budget: charged to the response (credit 0)
    DEADLINE = "deadline"  # the batch ran out of time before this sample was graded
    FAILED = "failed"  # the response could not be graded (grader crashed on it, ...): charged to it (credit 0)

    @property
    def is_judgement(self) -> bool:
        """True when the status says something about the response (not about our infrastructure)."""
        return self in (Status.OK, Status.UNSCORABLE)

    @property
    def charged_to_response(self) -> bool:
        """True when the response answers for this outcome: scored as its credit (0 = wrong), never by
        the spec's ``on_error``. A ``timeout`` is the response's doing (grading *it* overran the
        budget), so it must never pay better than a wrong answer (docs/time-limits.md)."""
        return self in (Status.OK, Status.UNSCORABLE, Status.TIMEOUT, Status.FAILED)


class InfrastructureError(Exception):
    """Raised by a grader when it could not grade a response *because of us*, not the response (Bedrock
    throttling or 5xx after the retries, AccessDenied, missing credentials, the runner Lambda throttled).
    The only way to get status ``error`` (which follows the spec's ``on_error``); any other exception while
    grading a response is the response's failure (``failed``). See docs/time-limits.md."""


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)


@dataclass(frozen=True, slots=True)
class Grade:
    """A grader's verdict on one response.

    ``score`` is credit in [0, 1] (1 = fully right). For ``unscorable`` it is 0. For statuses that are
    not judgements (no_reference, error, timeout, deadline) it is ignored by the composer.
    """

    score: float
    status: Status = Status.OK
    reason: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)

    @staticmethod
    def right(reason: str = "", **metrics: float) -> Grade:
        return Grade(1.0, Status.OK, reason, metrics)

    @staticmethod
    def wrong(reason: str = "", **metrics: float) -> Grade:
        return Grade(0.0, Status.OK, reason, metrics)

    @staticmethod
    def partial(score: float, reason: str = "", **metrics: float) -> Grade:
        return Grade(clamp01(score), Status.OK, reason, metrics)

    @staticmethod
    def unscorable(reason: str, **metrics: float) -> Grade:
        return Grade(0.0, Status.UNSCORABLE, reason, metrics)

    @staticmethod
    def no_reference(reason: str = "the dataset row has no usable reference_answer") -> Grade:
        return Grade(0.0, Status.NO_REFERENCE, reason)

    @staticmethod
    def error(reason: str) -> Grade:
        return Grade(0.0, Status.ERROR, reason)

    @staticmethod
    def failed(reason: str) -> Grade:
        return Grade(0.0, Status.FAILED, reason)

    @staticmethod
    def timeout(reason: str = "grading exceeded the per-sample budget") -> Grade:
        return Grade(0.0, Status.TIMEOUT, reason)

    @staticmethod
    def deadline(reason: str = "the batch reached its deadline before this sample was graded") -> Grade:
        return Grade(0.0, Status.DEADLINE, reason)


@dataclass(frozen=True, slots=True)
class DimensionResult:
    """One dimension's outcome for one sample, after gates and the error policy.

    ``score`` is in [-1, 1]. ``counted`` says whether it entered the aggregate.
    """

    name: str
    score: float
    status: Status
    counted: bool
    reason: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)


def clamp01(x: float) -> float:
    """Clip to [0, 1]; NaN becomes 0 (never let a NaN reach training)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x):
        return 0.0
    return 0.0 if x < 0 else 1.0 if x > 1 else float(x)


def clamp_reward(x: float) -> float:
    """Clip to [-1, 1]; NaN becomes 0."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x):
        return 0.0
    return -1.0 if x < -1 else 1.0 if x > 1 else float(x)
