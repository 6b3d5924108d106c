"""The names of the reward Lambda's CloudWatch metrics: one source of truth for the Lambda and the stack.

The handler (``reward.telemetry``) emits these names in Embedded Metric Format; the reward stack's dashboard
and alarms (``stacks/constructs/reward_dashboard.py``) chart and alarm on the very same names, and a test
checks one against the other. Cardinality is bounded by the spec: metric names contain dimension names from
the spec and status names, never sample ids.
"""

from __future__ import annotations

from reward.results import STATUSES, Status

#: CloudWatch dimension every metric carries (Powertools' ``service``), and its value.
SERVICE_DIMENSION = "service"
SERVICE = "reward"

#: Environment variable holding the namespace (set by the stack to one namespace per deployment).
NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
#: Namespace used when the variable is unset (local runs).
DEFAULT_NAMESPACE = "NovaRft/local"

#: The aggregate reward of each sample (a value distribution: CloudWatch gives p10/p50/p90 and the mean).
REWARD = "Reward"
#: Samples in an invocation (one value per invocation).
BATCH_SIZE = "BatchSize"
#: Wall time of grading one invocation, milliseconds (one value per invocation).
GRADING_LATENCY = "GradingLatency"
#: Dimension results in an invocation (samples x dimensions): the denominator of the status rates.
RESULTS = "Results"

#: Statuses that say nothing about the response (infrastructure or data problems: no_reference, error,
#: timeout, deadline): what the non-ok-rate alarm counts. ``unscorable`` is a wrong answer and shows up in
#: the reward instead.
FAILED_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if not s.is_judgement)
#: Statuses charged to the response although it was not judged (``failed``, ``timeout``): scored like a
#: wrong answer. A policy that learns to break the grader shows up here — and so does a bug of ours, which
#: is why the charged-failure alarm watches their share (docs/time-limits.md).
CHARGED_FAILURES: tuple[str, ...] = tuple(
    s.value for s in Status if s.charged_to_response and not s.is_judgement
)

#: Judge (Bedrock Converse) usage, summed over the invocation.
JUDGE_CALLS = "JudgeCalls"
JUDGE_THROTTLES = "JudgeThrottles"
JUDGE_RETRIES = "JudgeRetries"
JUDGE_INPUT_TOKENS = "JudgeInputTokens"
JUDGE_OUTPUT_TOKENS = "JudgeOutputTokens"
#: The rate the invocation's judge calls were paced at when the batch ended, calls per second (one value
#: per invocation; 0 = not paced: no throttle seen yet). ``reward.pacing``.
JUDGE_PACING_RATE = "JudgePacingRate"

#: Grade.metrics keys a judge grader reports per sample (they appear in metrics_list as
#: ``<dimension>.<key>``) -> the CloudWatch metric they are summed into.
JUDGE_DIAGNOSTICS: dict[str, str] = {
    "judge_calls": JUDGE_CALLS,
    "judge_throttles": JUDGE_THROTTLES,
    "judge_retries": JUDGE_RETRIES,
    "judge_input_tokens": JUDGE_INPUT_TOKENS,
    "judge_output_tokens": JUDGE_OUTPUT_TOKENS,
}


def dimension_reward(dimension: str) -> str:
    """A spec dimension's reward in [-1, 1] per sample (a value distribution)."""
    return f"{REWARD}.{dimension}"


def status_count(status: str) -> str:
    """Dimension results with ``status`` in an invocation (summed over the spec's dimensions)."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; known: {', '.join(STATUSES)}")
    return f"Status.{status}"


def metric_names(dimensions: list[str] | tuple[str, ...], *, judge: bool) -> list[str]:
    """Every metric name the handler can emit for a spec with these dimension names."""
    names = [REWARD, BATCH_SIZE, GRADING_LATENCY, RESULTS]
    names += [dimension_reward(d) for d in dimensions]
    names += [status_count(s) for s in STATUSES]
    if judge:
        names += [*JUDGE_DIAGNOSTICS.values(), JUDGE_PACING_RATE]
    return names
