"""What the reward Lambda tells CloudWatch about each batch: Powertools JSON logs and EMF metrics.

Per invocation (``record_batch``), never raising (a telemetry failure must not fail a batch):

- **Metrics** (CloudWatch Embedded Metric Format, printed to stdout by Powertools; names from
  ``reward.metric_names``, namespace from ``POWERTOOLS_METRICS_NAMESPACE``, dimension ``service=reward``):
  ``Reward`` (one value per sample) and ``Reward.<dimension>`` (one value per sample whose dimension
  counted in the aggregate) as value distributions, so CloudWatch gives p10/p50/p90; ``Status.<status>``
  for every status, zeros included (so rate math such as failed / Results stays defined); ``Results``;
  ``BatchSize``; ``GradingLatency`` (ms); and, when the spec uses the judge, the ``Judge*`` sums of the
  judge's per-sample diagnostics and ``JudgePacingRate`` (``judge_pacing_series``). EMF allows at most 100 values per metric in one document, so a batch
  of more than 100 samples is printed as several documents (every value is kept).
- **Logs** (Powertools Logger, JSON, to stderr; level from ``POWERTOOLS_LOG_LEVEL`` / ``LOG_LEVEL``):
  one INFO line per batch (spec, samples, statuses, mean rewards, timings, judge usage); one WARNING
  line per dimension result whose status says nothing about the response (no_reference, error, timeout,
  deadline: ``metric_names.FAILED_STATUSES``), with the sample id and the reason, at most
  ``MAX_PROBLEM_LINES`` per batch; one DEBUG line per sample (scores, statuses, reasons, and the
  prompt and response truncated to ``PREVIEW_CHARS``). Prompts and responses never appear at INFO.

Metrics are printed when running on Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) and not locally, so
``rft score`` and tests do not fill stdout with EMF; ``POWERTOOLS_METRICS_DISABLED=false`` forces them on
anywhere, ``=true`` off anywhere (``POWERTOOLS_DEV=true`` also turns them off, as in Powertools).

Cold start: importing ``aws_lambda_powertools`` runs its package ``__init__``, which imports the
``botocore`` package (to register a User-Agent hook for boto3 clients; no client is created). The modules
below are imported directly rather than through the package's top level; together they add about 15 ms to
a cold start (``benchmarks/bench_coldstart.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import IO, Any, cast

from aws_lambda_powertools.logging.logger import Logger
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider as EphemeralMetrics,  # what aws_lambda_powertools.metrics exports as such
)
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.constants import MAX_METRICS
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.metric_properties import MetricUnit
from aws_lambda_powertools.shared.functions import strtobool

from reward import metric_names as names
from reward import pacing
from reward.results import DimensionResult, Status

#: EMF: at most this many values per metric, and this many metrics, in one document.
MAX_VALUES = MAX_METRICS
#: Per-sample WARNING lines (failed statuses) per batch; the batch line always has the full counts.
MAX_PROBLEM_LINES = 20
#: Characters of a reason (WARNING/DEBUG) and of the prompt / response (DEBUG only) kept in a log line.
REASON_CHARS = 300
PREVIEW_CHARS = 200

_COUNT = MetricUnit.Count.value
_NONE = MetricUnit.NoUnit.value
_MS = MetricUnit.Milliseconds.value
_PER_S = MetricUnit.CountPerSecond.value
_OK = Status.OK
_ALL_STATUSES = tuple(Status)
_OTHER_STATUSES = tuple(s for s in Status if s is not _OK)
_FAILED = frozenset(Status(s) for s in names.FAILED_STATUSES)
_UNSCORABLE = Status.UNSCORABLE
_STATUS_METRICS = tuple((s, names.status_count(s.value)) for s in Status)
_JUDGE_KEYS = tuple(names.JUDGE_DIAGNOSTICS)


class _CurrentStream:
    """Writes to whatever ``sys.<name>`` is at the time (pytest and CLIs swap it after import)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        return getattr(sys, self.name).write(text)

    def flush(self) -> None:
        getattr(sys, self.name).flush()


def _make_logger() -> Logger:
    # Logs go to stderr: on Lambda both streams reach the function's log group; locally stdout stays
    # for the CLI's output and the EMF documents.
    try:
        return Logger(service=names.SERVICE, stream=cast(IO[str], _CurrentStream("stderr")))
    except ValueError:  # an unknown level in POWERTOOLS_LOG_LEVEL / LOG_LEVEL: keep grading, at INFO
        made = Logger(service=names.SERVICE, stream=cast(IO[str], _CurrentStream("stderr")), level="INFO")
        made.warning("unknown log level in POWERTOOLS_LOG_LEVEL / LOG_LEVEL; logging at INFO")
        return made


#: The ``reward`` logger (Powertools): ``reward.*`` stdlib loggers (e.g. the runner's) log through it.
logger = _make_logger()


def _enabled_for(level: int) -> bool:
    """Whether the ``reward`` logger (the stdlib logger under Powertools') logs at ``level``."""
    return logging.getLogger(names.SERVICE).isEnabledFor(level)


_metrics = EphemeralMetrics(namespace=names.DEFAULT_NAMESPACE, service=names.SERVICE)
_cold_start = True


def metrics_enabled() -> bool:
    """Whether EMF documents are printed: ``POWERTOOLS_METRICS_DISABLED`` if set, else only on Lambda."""
    disabled = _env_flag("POWERTOOLS_METRICS_DISABLED")
    if disabled is not None:
        return not disabled
    if _env_flag("POWERTOOLS_DEV"):  # Powertools' dev mode turns metrics off too
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _env_flag(name: str) -> bool | None:
    """True/False for a boolean environment variable (Powertools' spelling: true/1/yes/on...), else None."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return strtobool(raw)
    except ValueError:
        return None


def namespace() -> str:
    """The CloudWatch namespace: ``POWERTOOLS_METRICS_NAMESPACE`` (set by the stack), else the local one."""
    return os.environ.get(names.NAMESPACE_ENV) or names.DEFAULT_NAMESPACE


def begin_invocation(context: Any) -> None:
    """Tag every log line of this invocation with the Lambda request id (and cold start). Never raises."""
    global _cold_start
    with contextlib.suppress(Exception):  # a strange context must not fail the batch
        logger.append_keys(
            function_request_id=getattr(context, "aws_request_id", None), cold_start=_cold_start
        )
    _cold_start = False


class _Plan:
    """What a spec's batches report: its dimension names, their reward metrics, whether it uses the judge."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.dimensions: tuple[str, ...] = tuple(d.name for d in spec.dimensions)
        self.reward_metrics = tuple(names.dimension_reward(d) for d in self.dimensions)
        self.judge = spec.uses_judge


def record_batch(
    spec: Any,
    samples: Sequence[Any],
    outcomes: Sequence[tuple[float, Sequence[DimensionResult]]],
    *,
    started: float,
    grading_ms: float,
) -> None:
    """Emit the batch's metrics and log lines. ``outcomes[i]`` is ``compose()`` of ``samples[i]``;
    ``started`` is the handler's ``time.monotonic()`` at entry. Never raises."""
    try:
        _record(spec, samples, outcomes, started, grading_ms)
    except Exception:
        with contextlib.suppress(Exception):  # not even a broken log stream may fail the batch
            logger.exception("telemetry failed; the batch was graded and answered")


def _record(
    spec: Any,
    samples: Sequence[Any],
    outcomes: Sequence[tuple[float, Sequence[DimensionResult]]],
    started: float,
    grading_ms: float,
) -> None:
    plan = _Plan(spec)
    # Plain lists and C-level loops (zip, list.count): the handler's cost is a few microseconds per
    # sample, and telemetry must stay a few percent of it.
    rewards = [aggregate for aggregate, _ in outcomes]
    columns = list(zip(*[results for _, results in outcomes])) or [() for _ in plan.dimensions]
    dimension_values = [[r.score for r in column if r.counted] for column in columns]
    statuses = [r.status for column in columns for r in column]
    counts = _count_statuses(statuses)
    judge = _judge_sums(outcomes) if plan.judge else None
    duration_ms = (time.monotonic() - started) * 1000.0

    if metrics_enabled():
        _emit_metrics(plan, rewards, dimension_values, counts, judge, len(samples), duration_ms)
    failed = sum(counts[s] for s in _FAILED)
    # The per-result WARNING lines are logged at WARNING too (LOG_LEVEL=WARNING, the CLI's default), not
    # only when the INFO batch line is: they are the only place the reason of an `error` shows.
    suppressed = _log_failed(samples, outcomes) if failed and _enabled_for(logging.WARNING) else 0
    if _enabled_for(logging.INFO):
        _log_batch(
            plan,
            samples,
            outcomes,
            rewards,
            dimension_values,
            statuses,
            counts,
            judge,
            duration_ms,
            grading_ms,
            failed,
            suppressed,
        )


def _count_statuses(statuses: list[Status]) -> dict[Status, int]:
    # Most results are ok: count those in C, then look at the rest. (``Status.OK`` is bound to a module
    # constant: an enum attribute lookup per item would cost more than the counting.)
    ok = statuses.count(_OK)
    counts = dict.fromkeys(_ALL_STATUSES, 0)
    counts[_OK] = ok
    if ok != len(statuses):
        rest = [s for s in statuses if s is not _OK]
        for status in _OTHER_STATUSES:
            counts[status] = rest.count(status)
    return counts


def _judge_sums(outcomes: Sequence[tuple[float, Sequence[DimensionResult]]]) -> dict[str, float]:
    sums = dict.fromkeys(_JUDGE_KEYS, 0.0)
    for _, results in outcomes:
        for r in results:
            if r.metrics:
                for key in _JUDGE_KEYS:
                    value = r.metrics.get(key)
                    if value:
                        sums[key] += _finite(value)
    return sums


def _emit_metrics(
    plan: _Plan,
    rewards: list[float],
    dimension_values: list[list[float]],
    counts: dict[Status, int],
    judge: dict[str, float] | None,
    batch_size: int,
    duration_ms: float,
) -> None:
    series: list[tuple[str, str, list[float]]] = [(names.REWARD, _NONE, rewards)]
    series += [(name, _NONE, values) for name, values in zip(plan.reward_metrics, dimension_values)]
    series += [
        (names.BATCH_SIZE, _COUNT, [float(batch_size)]),
        (names.GRADING_LATENCY, _MS, [round(duration_ms, 3)]),
        (names.RESULTS, _COUNT, [float(batch_size * len(plan.dimensions))]),
    ]
    series += [(metric, _COUNT, [float(counts[status])]) for status, metric in _STATUS_METRICS]
    if judge is not None:
        series += [(names.JUDGE_DIAGNOSTICS[key], _COUNT, [total]) for key, total in judge.items()]
        series += judge_pacing_series()
    _metrics.namespace = namespace()
    for document in emf_documents(series):
        # Powertools serializes (namespace, service dimension, timestamp); one line per document.
        print(json.dumps(_metrics.serialize_metric_set(metrics=document), separators=(",", ":")))


def judge_pacing_series() -> list[tuple[str, str, list[float]]]:
    """The judge's pacing rate (``reward.pacing``) as one EMF series: calls per second, 0 = not paced."""
    return [(names.JUDGE_PACING_RATE, _PER_S, [round(pacing.current_rate(), 4)])]


def emf_documents(series: Sequence[tuple[str, str, list[float]]]) -> list[dict[str, dict[str, Any]]]:
    """Split ``(name, unit, values)`` into Powertools metric sets, each a valid EMF document: at most
    ``MAX_VALUES`` values per metric and ``MAX_VALUES`` metrics per document. Document k holds values
    ``[k*100, (k+1)*100)`` of every metric; a metric without values is left out (EMF has no empty
    metric)."""
    longest = max((len(values) for _, _, values in series), default=0)
    documents: list[dict[str, dict[str, Any]]] = []
    for start in range(0, longest, MAX_VALUES):
        part = [
            (name, unit, values[start : start + MAX_VALUES])
            for name, unit, values in series
            if len(values) > start
        ]
        for first in range(0, len(part), MAX_VALUES):
            documents.append(
                {
                    name: {"Unit": unit, "StorageResolution": 60, "Value": values}
                    for name, unit, values in part[first : first + MAX_VALUES]
                }
            )
    return documents


def _tool_call_shapes(outcomes: Sequence[tuple[float, Sequence[DimensionResult]]]) -> dict[str, int]:
    """How many results of the batch read each tool-call shape (the ``shape.<name>`` grade metrics)."""
    counts: dict[str, int] = {}
    for _, results in outcomes:
        for result in results:
            for key in result.metrics:
                if key.startswith("shape."):
                    counts[key[6:]] = counts.get(key[6:], 0) + 1
    return dict(sorted(counts.items()))


def _log_batch(
    plan: _Plan,
    samples: Sequence[Any],
    outcomes: Sequence[tuple[float, Sequence[DimensionResult]]],
    rewards: list[float],
    dimension_values: list[list[float]],
    statuses: list[Status],
    counts: dict[Status, int],
    judge: dict[str, float] | None,
    duration_ms: float,
    grading_ms: float,
    failed: int,
    suppressed: int,
) -> None:
    if _enabled_for(logging.DEBUG):
        _log_samples(samples, outcomes)
    batch: dict[str, Any] = {
        "spec": plan.spec.name,
        "samples": len(samples),
        "statuses": {status.value: n for status, n in counts.items() if n},
        "failed": failed,
        "reward_mean": _mean(rewards),
        "dimension_mean": {d: _mean(v) for d, v in zip(plan.dimensions, dimension_values)},
        "duration_ms": round(duration_ms, 2),
        "grading_ms": round(grading_ms, 2),
    }
    if "tool_call" in plan.spec.graders_used:
        # Which shape the tool calls arrived in (docs/tool-calling.md): undocumented by AWS, so the first
        # job's log tells.
        batch["tool_call_shapes"] = _tool_call_shapes(outcomes)
    if judge is not None:
        batch["judge"] = {
            key: int(total) if float(total).is_integer() else total for key, total in judge.items()
        }
        batch["judge_pacing_rate"] = round(pacing.current_rate(), 4)
    if suppressed:
        batch["failed_lines_suppressed"] = suppressed
    if counts[_UNSCORABLE]:
        # Unscorable is a judgement (a wrong answer, e.g. no final answer), common early in training: the
        # ids go in this one line (at most MAX_PROBLEM_LINES) rather than a line each.
        batch["unscorable_sample_ids"] = _unscorable_ids(samples, statuses)
    logger.info("batch graded", extra=batch)


def _unscorable_ids(samples: Sequence[Any], statuses: list[Status]) -> list[str]:
    """Ids of the first MAX_PROBLEM_LINES samples with an unscorable dimension. ``statuses`` is
    dimension-major (``_record``'s columns), so result k belongs to sample ``k % len(samples)``."""
    n = len(samples)
    rows = sorted({k % n for k, status in enumerate(statuses) if status is _UNSCORABLE})
    return [str(samples[i].id) for i in rows[:MAX_PROBLEM_LINES]]


def _log_failed(samples: Sequence[Any], outcomes: Sequence[tuple[float, Sequence[DimensionResult]]]) -> int:
    """One WARNING line per failed dimension result, at most MAX_PROBLEM_LINES; returns how many were not
    logged."""
    logged = skipped = 0
    for sample, (_, results) in zip(samples, outcomes):
        for r in results:
            if r.status in _FAILED:
                if logged >= MAX_PROBLEM_LINES:
                    skipped += 1
                    continue
                logged += 1
                logger.warning(
                    "dimension not graded",
                    extra={
                        "sample_id": sample.id,
                        "dimension": r.name,
                        "status": r.status.value,
                        "reason": _truncate(r.reason, REASON_CHARS),
                    },
                )
    return skipped


def _log_samples(samples: Sequence[Any], outcomes: Sequence[tuple[float, Sequence[DimensionResult]]]) -> None:
    for sample, (aggregate, results) in zip(samples, outcomes):
        logger.debug(
            "sample graded",
            extra={
                "sample_id": sample.id,
                "reward": aggregate,
                "dimensions": {
                    r.name: {
                        "score": r.score,
                        "status": r.status.value,
                        "reason": _truncate(r.reason, REASON_CHARS),
                    }
                    for r in results
                },
                "prompt_preview": _truncate(_user_text(sample), PREVIEW_CHARS),
                "response_preview": _truncate(sample.response or "", PREVIEW_CHARS),
            },
        )


def _user_text(sample: Any) -> str:
    try:
        return str(sample.user_text)
    except Exception:
        return ""


def _truncate(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


def _mean(values: list[float]) -> float | None:
    return round(math.fsum(values) / len(values), 4) if values else None


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0
