"""The reward Lambda's CloudWatch metrics, as CDK `Metric`s: what the dashboard charts and the alarms watch.

Every custom metric is built here from a name in `reward.metric_names` (the module the Lambda's telemetry
emits from), in the deployment's namespace with the dimension `service=reward` — never from a retyped
string, so the dashboard cannot chart a metric the Lambda does not emit. AWS/Lambda metrics come from the
function itself (`function.metric_*`).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from reward import metric_names

#: One period for the dashboard and the alarms: long enough that a 5-minute window holds many batches
#: during RFT (percentiles and rates over a handful of samples are noise), short enough to react.
PERIOD = cdk.Duration.minutes(5)

#: Reward percentiles charted next to the mean (CloudWatch computes them from the EMF value distribution).
PERCENTILES: tuple[str, ...] = ("p10", "p50", "p90")


def _metric_id(name: str) -> str:
    """A metric-math id for a metric name (`Status.no_reference` -> `status_no_reference`)."""
    return "".join(c if c.isalnum() else "_" for c in name).lower()


class RewardMetrics:
    """Factory of the reward Lambda's custom metrics in one namespace (`service=reward`)."""

    def __init__(self, namespace: str, *, period: cdk.Duration = PERIOD) -> None:
        self.namespace = namespace
        self.period = period

    def metric(self, name: str, *, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
        """The custom metric `name` (a `reward.metric_names` name) with one statistic."""
        if name not in metric_names.metric_names([], judge=True) and not name.startswith(
            metric_names.dimension_reward("")
        ):
            raise ValueError(f"{name!r} is not a metric reward.metric_names defines")
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={metric_names.SERVICE_DIMENSION: metric_names.SERVICE},
            statistic=statistic,
            period=self.period,
            label=label,
        )

    def distribution(self, name: str, *, what: str) -> list[cloudwatch.IMetric]:
        """Mean and p10/p50/p90 of a value distribution (`Reward`, `Reward.<dimension>`)."""
        metrics: list[cloudwatch.IMetric] = [self.metric(name, statistic="Average", label=f"{what} mean")]
        metrics += [self.metric(name, statistic=p, label=f"{what} {p}") for p in PERCENTILES]
        return metrics

    def status_counts(self, statuses: Sequence[str]) -> list[cloudwatch.IMetric]:
        """Dimension results per status (sums)."""
        return [self.metric(metric_names.status_count(s), label=s) for s in statuses]

    def failed_status_rate(self) -> cloudwatch.MathExpression:
        """Fraction of dimension results whose status is not a judgement of the response.

        sum(Status.<s> for s in FAILED_STATUSES) / Results. A status that did not occur may have no data
        point at all, so each count is FILLed with 0; with no results at all the rate has no value.
        """
        return self.status_rate(metric_names.FAILED_STATUSES, "failed-status rate")

    def charged_failure_rate(self) -> cloudwatch.MathExpression:
        """Fraction of dimension results that could not be graded and were charged to the response
        (``failed`` + ``timeout``): a policy breaking the grader, or a bug of ours."""
        return self.status_rate(metric_names.CHARGED_FAILURES, "charged-failure rate")

    def status_rate(self, statuses: Sequence[str], label: str) -> cloudwatch.MathExpression:
        """sum(Status.<s> for s in statuses) / Results, each count FILLed with 0."""
        counts = [metric_names.status_count(s) for s in statuses]
        using: dict[str, cloudwatch.IMetric] = {_metric_id(name): self.metric(name) for name in counts}
        numerator = " + ".join(f"FILL({key}, 0)" for key in using)
        return cloudwatch.MathExpression(
            expression=f"({numerator}) / results",
            using_metrics={**using, "results": self.metric(metric_names.RESULTS)},
            label=f"{label} (" + ", ".join(statuses) + ")",
            period=self.period,
        )

    def judge_throttle_rate(self) -> cloudwatch.MathExpression:
        """Fraction of judge calls that Bedrock throttled: JudgeThrottles / JudgeCalls."""
        return cloudwatch.MathExpression(
            expression="FILL(throttles, 0) / calls",
            using_metrics={
                "throttles": self.metric(metric_names.JUDGE_THROTTLES),
                "calls": self.metric(metric_names.JUDGE_CALLS),
            },
            label="judge throttle rate",
            period=self.period,
        )
