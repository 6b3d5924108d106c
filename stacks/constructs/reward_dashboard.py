"""The reward dashboard: what the reward Lambda reports during an RFT run, on one CloudWatch page.

Top to bottom: what the page shows and the alarms' states; the aggregate reward (mean, p10/p50/p90) and
the statuses that are not `ok`; each spec dimension's reward; the failed-status rate, batch size and
grading latency; the Lambda's invocations, errors, throttles, concurrency and duration against its
timeout; and, when the spec grades with a judge, the judge's Bedrock calls, throttles, retries and tokens.
Custom metrics come from `RewardMetrics` (names from `reward.metric_names`, the module the Lambda emits
from), so every chart shows a metric the Lambda actually emits.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import region_info
from constructs import Construct

from reward import metric_names
from reward.results import Status
from stacks.constructs.reward_alarms import (
    CHARGED_FAILURE_ALARM_RATE,
    DURATION_ALARM_FRACTION,
    AlarmThresholds,
)
from stacks.constructs.reward_metrics import PERIOD, RewardMetrics

#: The console's domain per partition (the dashboard URL output).
CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}

#: Statuses charted as "not ok": every status but ok (unscorable is a wrong answer, still worth seeing).
NON_OK_STATUSES: tuple[str, ...] = tuple(s.value for s in Status if s is not Status.OK)

_RED = "#d62728"
_ORANGE = "#ff7f0e"
_REWARD_AXIS = cloudwatch.YAxisProps(min=-1, max=1, label="reward", show_units=False)
_RATE_AXIS = cloudwatch.YAxisProps(min=0, label="fraction", show_units=False)
_COUNT_AXIS = cloudwatch.YAxisProps(min=0, show_units=False)


def dashboard_url(scope: Construct, dashboard_name: str) -> str:
    """The console URL of a dashboard in the stack's region (and partition, when the region is known)."""
    stack = cdk.Stack.of(scope)
    region = stack.region
    domain = CONSOLE_DOMAINS["aws"]
    if not cdk.Token.is_unresolved(region):
        partition = region_info.RegionInfo.get(region).partition or "aws"
        domain = CONSOLE_DOMAINS.get(partition, domain)
    return f"https://{region}.{domain}/cloudwatch/home?region={region}#dashboards/dashboard/{dashboard_name}"


def _intro(dimensions: Sequence[str], *, uses_judge: bool, namespace: str) -> str:
    judge = (
        " The last row shows the judge's Bedrock calls, throttles, retries and tokens." if uses_judge else ""
    )
    return (
        "# Reward Lambda during reinforcement fine-tuning\n"
        "Every number below comes from the reward function the RFT job calls: rewards are in [-1, 1] per "
        "sample, over 5-minute periods. A run that learns shows the reward **p50 and mean rising**; a **p10 "
        "stuck at -1** means many responses hit the floor (wrong, empty or hacked answers). Statuses other "
        "than ok are not judgements of the response: **error, timeout, deadline and no_reference** should "
        f"stay near zero. Duration is charted against the timeout (red line).{judge}\n\n"
        f"Spec dimensions: {', '.join(dimensions) or '(none)'} · metrics namespace `{namespace}` "
        f"(dimension {metric_names.SERVICE_DIMENSION}={metric_names.SERVICE}) · see docs/operations.md "
        '("Watching a training run") in the Nova RFT Kit repository.'
    )


class RewardDashboard(Construct):
    """The CloudWatch dashboard (`self.dashboard`, named `dashboard_name`) and its URL (`self.url`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        function: lambda_.IFunction,
        timeout: cdk.Duration,
        metrics: RewardMetrics,
        dimensions: Sequence[str],
        uses_judge: bool,
        thresholds: AlarmThresholds,
        alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=cdk.Duration.hours(6),
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        self.url = dashboard_url(self, dashboard_name)
        timeout_ms = timeout.to_milliseconds()

        header: list[cloudwatch.IWidget] = [
            cloudwatch.TextWidget(
                markdown=_intro(dimensions, uses_judge=uses_judge, namespace=metrics.namespace),
                width=16 if alarms else 24,
                height=5,
            )
        ]
        if alarms:
            header.append(
                cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=8, height=5)
            )
        self.dashboard.add_widgets(*header)

        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Reward per sample (aggregate): mean, p10, p50, p90",
                left=metrics.distribution(metric_names.REWARD, what="reward"),
                left_y_axis=_REWARD_AXIS,
                width=12,
                height=7,
            ),
            cloudwatch.GraphWidget(
                title="Dimension results whose status is not ok (count per 5 min)",
                left=metrics.status_counts(NON_OK_STATUSES),
                stacked=True,
                width=12,
                height=7,
            ),
        )
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"Reward of dimension {dimension}: mean, p10, p50, p90",
                    left=metrics.distribution(metric_names.dimension_reward(dimension), what=dimension),
                    left_y_axis=_REWARD_AXIS,
                    width=8,
                    height=6,
                )
                for dimension in dimensions
            )
        )
        self.dashboard.add_widgets(
            _rate_widget(
                "Failed-status rate",
                metric_names.FAILED_STATUSES,
                metrics.failed_status_rate(),
                thresholds.non_ok_rate,
            ),
            _rate_widget(
                "Charged-failure rate",
                metric_names.CHARGED_FAILURES,
                metrics.charged_failure_rate(),
                CHARGED_FAILURE_ALARM_RATE,
            ),
            cloudwatch.GraphWidget(
                title="Batch size (samples per invocation)",
                left=[
                    metrics.metric(metric_names.BATCH_SIZE, statistic="Average", label="mean"),
                    metrics.metric(metric_names.BATCH_SIZE, statistic="Maximum", label="max"),
                    metrics.metric(metric_names.BATCH_SIZE, statistic="Minimum", label="min"),
                ],
                left_y_axis=_COUNT_AXIS,
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Grading latency per invocation (ms)",
                left=[
                    metrics.metric(metric_names.GRADING_LATENCY, statistic="p50", label="p50"),
                    metrics.metric(metric_names.GRADING_LATENCY, statistic="p99", label="p99"),
                    metrics.metric(metric_names.GRADING_LATENCY, statistic="Maximum", label="max"),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, label="ms", show_units=False),
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=timeout_ms, label="Lambda timeout", color=_RED)
                ],
                width=8,
                height=6,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda invocations, errors, throttles (per 5 min)",
                left=[
                    function.metric_invocations(period=PERIOD, statistic="Sum", label="invocations"),
                ],
                right=[
                    function.metric_errors(period=PERIOD, statistic="Sum", label="errors", color=_RED),
                    function.metric_throttles(
                        period=PERIOD, statistic="Sum", label="throttles", color=_ORANGE
                    ),
                ],
                left_y_axis=_COUNT_AXIS,
                right_y_axis=_COUNT_AXIS,
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Lambda concurrent executions (max)",
                left=[
                    function.metric(
                        "ConcurrentExecutions", period=PERIOD, statistic="Maximum", label="concurrent"
                    )
                ],
                left_y_axis=_COUNT_AXIS,
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p50 / p99 vs the timeout (ms)",
                left=[
                    function.metric_duration(period=PERIOD, statistic="p50", label="p50"),
                    function.metric_duration(period=PERIOD, statistic="p99", label="p99"),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, label="ms", show_units=False),
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=timeout_ms, label="timeout", color=_RED),
                    cloudwatch.HorizontalAnnotation(
                        value=DURATION_ALARM_FRACTION * timeout_ms,
                        label=f"alarm ({DURATION_ALARM_FRACTION:.0%} of the timeout)",
                        color=_ORANGE,
                    ),
                ],
                width=8,
                height=6,
            ),
        )
        if uses_judge:
            self.dashboard.add_widgets(*self._judge_widgets(metrics, thresholds))

    @staticmethod
    def _judge_widgets(metrics: RewardMetrics, thresholds: AlarmThresholds) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Judge (Bedrock Converse) calls, throttles, retries (per 5 min)",
                left=[
                    metrics.metric(metric_names.JUDGE_CALLS, label="calls"),
                    metrics.metric(metric_names.JUDGE_RETRIES, label="retries"),
                    metrics.metric(metric_names.JUDGE_THROTTLES, label="throttles"),
                ],
                left_y_axis=_COUNT_AXIS,
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Judge tokens (per 5 min)",
                left=[
                    metrics.metric(metric_names.JUDGE_INPUT_TOKENS, label="input tokens"),
                    metrics.metric(metric_names.JUDGE_OUTPUT_TOKENS, label="output tokens"),
                ],
                left_y_axis=_COUNT_AXIS,
                width=8,
                height=6,
            ),
            _judge_pacing_widget(metrics, thresholds),
        ]


# ------------------------------------------------------------------ the judge's pacing (docs/judge.md, Capacity)


def _judge_pacing_widget(metrics: RewardMetrics, thresholds: AlarmThresholds) -> cloudwatch.IWidget:
    """The judge's throttle share (left) against the rate the invocations pace their calls at (right).

    Paced, a share of throttles is the cost of finding the quota (the pacing probes above it); a share that
    stays high with a falling pacing rate is a quota too small for the fan-out.
    """
    return cloudwatch.GraphWidget(
        title="Judge throttle rate: throttles / calls, and the pacing rate",
        left=[metrics.judge_throttle_rate()],
        left_y_axis=_RATE_AXIS,
        left_annotations=[
            cloudwatch.HorizontalAnnotation(
                value=thresholds.judge_throttle_rate, label="alarm threshold (3 periods)", color=_RED
            )
        ],
        right=[
            metrics.metric(
                metric_names.JUDGE_PACING_RATE,
                statistic="Average",
                label="pacing rate per invocation (calls/s)",
            )
        ],
        right_y_axis=cloudwatch.YAxisProps(min=0, show_units=False, label="calls/s"),
        width=8,
        height=6,
    )


def _rate_widget(
    name: str, statuses: Sequence[str], rate: cloudwatch.IMetric, threshold: float
) -> cloudwatch.GraphWidget:
    """A status-share graph with its alarm's threshold drawn in."""
    return cloudwatch.GraphWidget(
        title=f"{name}: (" + " + ".join(statuses) + ") / results",
        left=[rate],
        left_y_axis=_RATE_AXIS,
        left_annotations=[
            cloudwatch.HorizontalAnnotation(value=threshold, label="alarm threshold", color=_RED)
        ],
        width=8,
        height=6,
    )
