"""``grade_event(spec, event)``: the whole reward for one Lambda event, with the spec passed as a value.

The handler (``reward.handler``) only reads the environment, loads and caches the spec and calls this; the
``rft`` CLI loads a ``Spec`` and calls it directly. Parse the event into samples, grade them under the batch
deadline, compose each reward, answer every element in order; never raise for a data problem.
"""

from __future__ import annotations

import time
from typing import Any

from reward import telemetry
from reward.compose import compose, reply_element
from reward.event import parse_event
from reward.runner import grade_batch
from reward.spec import Spec


def grade_event(
    spec: Spec,
    event: Any,
    *,
    context: Any = None,
    deadline: float | None = None,
    with_reasons: bool = False,
) -> list[dict[str, Any]]:
    """One reply element per event element, in order (docs/contract.md §1).

    ``deadline`` is a ``time.monotonic()`` instant; by default it comes from ``context`` (the Lambda
    context's remaining time) or, without one, ``default_deadline_s()``. ``with_reasons`` adds one key per
    element, ``reasons``: ``{dimension: reason}`` (for local tools; the deployed function never sends it).
    Metrics and logs (``reward.telemetry``) are emitted after grading and can never fail the batch.
    """
    started = time.monotonic()
    telemetry.begin_invocation(context)
    samples = parse_event(event)
    if not isinstance(event, list):
        telemetry.logger.warning("event is not a list", extra={"type": type(event).__name__})
    if deadline is None:
        deadline = batch_deadline(spec, context, started)
    grades = grade_batch(spec, samples, deadline=deadline)
    grading_ms = (time.monotonic() - started) * 1000.0
    outcomes = [compose(spec, sample_grades) for sample_grades in grades]
    reply = [reply_element(s, aggregate, results) for s, (aggregate, results) in zip(samples, outcomes)]
    if with_reasons:
        for element, (_, results) in zip(reply, outcomes):
            element["reasons"] = {r.name: r.reason for r in results}
    telemetry.record_batch(spec, samples, outcomes, started=started, grading_ms=grading_ms)
    return reply


#: Seconds a batch may take when there is no Lambda context (local runs, ``rft score``): the deployed
#: function's default timeout (cdk.json ``reward_timeout_s``), so nothing run locally can hang for ever.
#: ``REWARD_DEFAULT_DEADLINE_S`` overrides it.
DEFAULT_DEADLINE_S = 300.0


def default_deadline_s() -> float:
    """``REWARD_DEFAULT_DEADLINE_S`` when it is a positive number, else ``DEFAULT_DEADLINE_S``."""
    import os

    raw = os.environ.get("REWARD_DEFAULT_DEADLINE_S", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_DEADLINE_S
    except ValueError:
        return DEFAULT_DEADLINE_S
    return value if 0 < value < float("inf") else DEFAULT_DEADLINE_S


def batch_deadline(spec: Spec, context: Any, started: float) -> float:
    """The monotonic instant by which grading must stop so the reply beats the Lambda's timeout.

    Without a usable context (local runs) the batch still gets ``default_deadline_s()``."""
    remaining_s = None
    get_remaining = getattr(context, "get_remaining_time_in_millis", None)
    if get_remaining is not None:
        try:
            remaining_s = float(get_remaining()) / 1000.0
        except Exception:  # a strange context object must not fail the batch
            remaining_s = None
        if remaining_s is not None and remaining_s != remaining_s:  # NaN
            remaining_s = None
    if remaining_s is None:
        remaining_s = default_deadline_s()
    margin = min(spec.deadline_margin_s, max(remaining_s, 0.0) / 2)
    return started + remaining_s - margin
