"""Grade a batch of samples on every dimension of a spec, under a deadline, without ever raising.

Light graders run inline in this process. Heavy graders (``Grader.heavy``, e.g. ``math``) run in worker
processes (``reward.workers``) with a hard per-sample budget: the heavy dimensions of each sample are sent
to the pool first, so every worker is busy while the light dimensions are graded here.

Budget of a sample's heavy dimensions: ``spec.sample_timeout_s``, or the largest ``timeout_s`` a heavy
grader of the spec sets for itself.

**Who pays for a failure is decided here, in one place** (``settle``; docs/time-limits.md): a dimension
that could not be graded is the response's failure (``failed``: scored like a wrong answer, vetoes fire)
unless the grader raised — or, for a batched grader, handed back — ``InfrastructureError`` (then
``error``, which follows the spec's ``on_error``). A grader cannot produce ``error`` any other way: a
returned ``Grade`` with status ``error`` counts as ``failed``. Statuses the runner decides:
- ``failed``: malformed sample, a grader raised (anything but ``InfrastructureError``) or returned garbage,
  a worker died on the sample;
- ``error``: ``InfrastructureError`` (ours: throttled after the retries, access denied, ...), or a batched
  grader that could not even be started;
- ``unscorable``: the response is over ``spec.max_response_chars`` (never parsed);
- ``no_reference``: the grader needs a reference the row lacks;
- ``timeout``: the sample's heavy dimensions overran their budget (worker killed and replaced);
- ``deadline``: the batch deadline came before the sample was graded.

Batched graders (``Grader.batched``, e.g. ``judge``: network-bound, one model call per sample) get the
whole batch at once through ``grade_many(samples, deadline)`` and grade it concurrently in threads of this
process (not in worker processes: they wait on I/O, not CPU, and ``REWARD_WORKERS`` does not apply). The
runner starts every batched dimension first, grades the other dimensions meanwhile, then collects: it
waits for a batched dimension until the batch deadline at the latest (the grader is given a deadline a
little earlier, ``_BATCHED_GRACE_S``, so it can hand in what it finished), and a sample it did not grade
in time gets ``deadline``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from reward.event import Sample
from reward.results import Grade, InfrastructureError, Status
from reward.sample_grading import (
    answer_part,
    grade_dimensions,
    grade_sample,
    refusal,
    sample_budget,
    settle,
    settle_exception,
)
from reward.spec import Spec
from reward.workers import HeavyJob, WorkerPool, get_pool

logger = logging.getLogger("reward.runner")

_LIGHT_CHUNK = 16  # light samples graded between two looks at the workers
_BATCHED_GRACE_S = 0.05  # a batched grader's own deadline comes this much before the batch's
_dispatch_lock = threading.Lock()
_dispatcher: ThreadPoolExecutor | None = None


def grade_batch(
    spec: Spec,
    samples: Sequence[Sample],
    *,
    deadline: float | None = None,
    pool: WorkerPool | None = None,
) -> list[list[Grade]]:
    """Grades per sample (one per dimension, in spec order), in sample order.

    ``deadline`` is a ``time.monotonic()`` instant: samples not graded by then get status ``deadline``
    so the reply still arrives in time. ``pool`` is a ``reward.workers.WorkerPool`` (default: the
    process-wide one) used when the spec has heavy graders.
    """
    batched_dims = tuple(i for i, g in enumerate(spec.graders) if g.batched)
    if not batched_dims:
        return _grade_unbatched(spec, samples, deadline, pool, ())
    started = _start_batched(spec, samples, batched_dims, deadline)
    out = _grade_unbatched(spec, samples, deadline, pool, batched_dims)
    _collect_batched(spec, out, started, deadline)
    return out


def _grade_unbatched(
    spec: Spec,
    samples: Sequence[Sample],
    deadline: float | None,
    pool: WorkerPool | None,
    skip: tuple[int, ...],
) -> list[list[Grade]]:
    """Grades of every dimension not in ``skip`` (those are left as placeholders to fill)."""
    n_dims = len(spec.dimensions)
    heavy_dims = tuple(i for i, g in enumerate(spec.graders) if g.heavy and i not in skip)
    if heavy_dims:
        if pool is None:
            pool = get_pool()
        if pool.size > 0:  # REWARD_WORKERS=0: inline, no hard time limits
            return _grade_with_workers(spec, samples, deadline, pool, heavy_dims, skip)
    if not skip:
        return _grade_light_only(spec, samples, deadline, n_dims)
    dims = tuple(i for i in range(n_dims) if i not in skip)
    out: list[list[Grade]] = []
    for sample in samples:
        refused = refusal(spec, sample)
        if refused is not None:
            out.append([refused] * n_dims)
            continue
        row = [_PENDING] * n_dims
        if deadline is not None and time.monotonic() >= deadline:
            for i in dims:
                row[i] = Grade.deadline()
        else:
            for i, grade in zip(dims, grade_dimensions(spec, sample, dims)):
                row[i] = grade
        out.append(row)
    return out


# A batched dimension in flight: (dim, sample indices sent, future, failure to start, grades decided
# without the grader).
_Started = tuple[
    int,
    list[int],
    "Future[list[Grade | InfrastructureError]] | None",
    "InfrastructureError | None",
    dict[int, Grade],
]

# Placeholder for a batched dimension's grade until it is collected (never leaves the runner).
_PENDING = Grade(0.0, Status.DEADLINE, "pending")


def _forget_dispatcher_in_child() -> None:
    """A forked child inherits the executor object but none of its threads: start afresh."""
    global _dispatcher, _dispatch_lock
    _dispatcher, _dispatch_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_dispatcher_in_child)


def _batched_executor() -> ThreadPoolExecutor:
    global _dispatcher
    with _dispatch_lock:
        if _dispatcher is None:
            # One thread per batched dimension in flight; each grader runs its own bounded call pool.
            _dispatcher = ThreadPoolExecutor(max_workers=8, thread_name_prefix="reward-batched")
        return _dispatcher


def _start_batched(
    spec: Spec, samples: Sequence[Sample], dims: tuple[int, ...], deadline: float | None
) -> list[_Started]:
    """Submit each batched dimension's gradable samples; return (dim, sample indices, future, failure,
    grades decided without the grader: ``answer_after`` missing from the response)."""
    inner = None if deadline is None else deadline - _BATCHED_GRACE_S
    started: list[_Started] = []
    for i in dims:
        grader = spec.graders[i]
        keep = [
            k
            for k, sample in enumerate(samples)
            if refusal(spec, sample) is None and (not grader.needs_reference or sample.has_reference)
        ]
        subset = [samples[k] for k in keep]
        pre: dict[int, Grade] = {}
        if spec.answer_after and grader.reads_answer:
            # as in grade_dimensions: the grader sees what follows the reasoning; without the delimiter
            # the sample is unscorable here and never sent
            cut = {k: answer_part(samples[k], spec.answer_after) for k in keep}
            pre = {k: g for k, g in cut.items() if isinstance(g, Grade)}
            keep = [k for k in keep if not isinstance(cut[k], Grade)]
            subset = [cut[k] for k in keep]  # type: ignore[misc]
        if not keep:
            started.append((i, keep, None, None, pre))
            continue
        try:
            future = _batched_executor().submit(grader.grade_many, subset, inner)
        except Exception as exc:  # e.g. interpreter shutting down: grade as errors, never raise
            # ours (e.g. the interpreter is shutting down), not the responses'
            cannot_start = InfrastructureError(f"{grader.name} grader could not start: {exc}")
            started.append((i, keep, None, cannot_start, pre))
            continue
        started.append((i, keep, future, None, pre))
    return started


def _collect_batched(
    spec: Spec,
    out: list[list[Grade]],
    started: list[_Started],
    deadline: float | None,
) -> None:
    """Fill the batched dimensions' grades into ``out``, waiting until ``deadline`` at the latest."""
    for i, keep, future, failure, pre in started:
        grader = spec.graders[i]
        grades: list[Any]  # what the grader handed back, settled below
        if future is None:
            grades = [failure or Grade.deadline()] * len(keep)
        else:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                grades = future.result(timeout=timeout)
            except FutureTimeout:
                future.cancel()
                logger.warning("batched grader %s missed the batch deadline", grader.name)
                grades = [Grade.deadline()] * len(keep)
            except Exception as exc:  # a grader bug must not fail the batch
                logger.exception("batched grader %s raised", grader.name)
                grades = [exc] * len(keep)
            if not isinstance(grades, list) or len(grades) != len(keep):
                grades = [
                    Grade.failed(
                        f"{grader.name} grader returned {len(grades) if isinstance(grades, list) else type(grades).__name__} grades for {len(keep)} samples"
                    )
                ] * len(keep)
        kept = set(keep) | set(pre)
        for k, grade in zip(keep, grades):
            out[k][i] = settle(grade, grader.name)
        for k, grade in pre.items():
            out[k][i] = grade
        for k, row in enumerate(out):
            if k in kept or row[i] is not _PENDING:
                continue
            # Not sent to the grader: refused sample (its row is already the refusal) or no reference.
            row[i] = Grade.no_reference()


def _grade_light_only(
    spec: Spec, samples: Sequence[Sample], deadline: float | None, n_dims: int
) -> list[list[Grade]]:
    out: list[list[Grade]] = []
    if deadline is None:
        return [grade_sample(spec, sample) for sample in samples]
    monotonic = time.monotonic
    for sample in samples:
        if monotonic() >= deadline:
            out.append([Grade.deadline()] * n_dims)
            continue
        out.append(grade_sample(spec, sample))
    return out


def _grade_with_workers(
    spec: Spec,
    samples: Sequence[Sample],
    deadline: float | None,
    pool: WorkerPool,
    heavy_dims: tuple[int, ...],
    skip: tuple[int, ...] = (),
) -> list[list[Grade]]:
    n_dims = len(spec.dimensions)
    heavy = set(heavy_dims)
    light_dims = tuple(i for i in range(n_dims) if i not in heavy and i not in skip)
    budget = sample_budget(spec)

    out: list[list[Grade | None]] = []
    jobs: list[HeavyJob] = []
    light_todo: list[int] = []
    for sample in samples:
        refused = refusal(spec, sample)
        if refused is not None:
            out.append([refused] * n_dims)
            continue
        row: list[Grade | None] = [None] * n_dims
        for i in skip:
            row[i] = _PENDING
        need = []
        for i in heavy_dims:
            if spec.graders[i].needs_reference and not sample.has_reference:
                row[i] = Grade.no_reference()
            else:
                need.append(i)
        if need:
            jobs.append(HeavyJob(len(out), sample, tuple(need), budget))  # key: the row
        out.append(row)
        if light_dims:
            light_todo.append(len(out) - 1)

    cursor = 0

    def grade_some_light() -> bool:
        nonlocal cursor
        stop = min(cursor + _LIGHT_CHUNK, len(light_todo))
        for k in light_todo[cursor:stop]:
            if deadline is not None and time.monotonic() >= deadline:
                break
            for i, grade in zip(light_dims, grade_dimensions(spec, samples[k], light_dims)):
                out[k][i] = grade
        cursor = stop
        return cursor < len(light_todo)

    results: dict[int, list[Any]]
    try:
        results = pool.grade(spec, jobs, deadline=deadline, between=grade_some_light)
    except Exception as exc:  # the pool itself failing must not fail the batch
        logger.exception("worker pool failed; grading heavy dimensions as failures")
        results = {job.key: [exc] * len(job.dims) for job in jobs}
    while grade_some_light():
        pass
    for job in jobs:
        for i, grade in zip(job.dims, results.get(job.key) or [Grade.deadline()] * len(job.dims)):
            out[job.key][i] = settle(grade, spec.graders[i].name)
    return [[g if g is not None else Grade.deadline() for g in row] for row in out]


__all__ = ["grade_batch", "grade_dimensions", "grade_sample", "sample_budget", "settle_exception"]
