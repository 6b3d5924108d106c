"""Alarms on the reward Lambda, each sent to the notification topic when it fires and when it clears.

Every alarm has a deterministic name `<prefix>-reward-...` (easy to find in the console and to scope
policies to; the topic policy names the exact alarm ARNs) and a description that says what it means and what to do;
docs/operations.md ("The alarms") says the same at more length. All of them treat missing data as not
breaching: between training steps, or before the job starts, the Lambda is simply not invoked.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from reward import metric_names
from stacks.constructs.reward_metrics import PERIOD, RewardMetrics

#: Duration p99 alarms above this fraction of the function's timeout.
DURATION_ALARM_FRACTION = 0.8
#: The charged-failure alarm fires above this share of dimension results (2 of 3 periods). Honest wrong
#: answers are ``ok`` with no credit, so ``failed``/``timeout`` above a few percent means either a policy
#: that learned to break the grader or a bug of ours: both need a look.
CHARGED_FAILURE_ALARM_RATE = 0.05


def alarm_name_prefix(name_prefix: str) -> str:
    """Every reward alarm's name starts with this (the key policy scopes CloudWatch's use to it)."""
    return f"{name_prefix}-reward-"


@dataclass(frozen=True)
class AlarmThresholds:
    """The thresholds that come from context (stacks/config.py)."""

    non_ok_rate: float
    judge_throttle_rate: float


class RewardAlarms(Construct):
    """The reward Lambda's alarms (`self.alarms`, by short name), each notifying `topic`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        function: lambda_.IFunction,
        timeout: cdk.Duration,
        metrics: RewardMetrics,
        uses_judge: bool,
        thresholds: AlarmThresholds,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = alarm_name_prefix(name_prefix)
        self._topic = topic
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        timeout_ms = timeout.to_milliseconds()
        #: The Duration p99 threshold in milliseconds (80% of the timeout).
        self.duration_threshold_ms = DURATION_ALARM_FRACTION * timeout_ms
        failed = ", ".join(metric_names.FAILED_STATUSES)

        self._add(
            "errors",
            function.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=0,
            description=(
                "The reward Lambda failed (an unhandled exception, out of memory or a timeout) in the last 5 "
                "minutes. The RFT job gets no rewards for those batches. Open the function's log group, find "
                "the ERROR/Task timed out lines, fix the grader or raise reward_memory_mb/reward_timeout_s, and "
                "redeploy (a new version; a running job keeps the version it started with)."
            ),
        )
        self._add(
            "throttles",
            function.metric_throttles(period=PERIOD, statistic="Sum"),
            threshold=0,
            description=(
                "Lambda refused reward invocations (throttled) in the last 5 minutes: the account's or the "
                "function's concurrency limit was reached by the RFT fan-out. Check ConcurrentExecutions on "
                "the dashboard and request a higher Lambda concurrency quota (Service Quotas) for the region."
            ),
        )
        self._add(
            "duration-p99",
            function.metric_duration(period=PERIOD, statistic="p99"),
            threshold=self.duration_threshold_ms,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            description=(
                f"The reward Lambda's p99 duration stayed above {DURATION_ALARM_FRACTION:.0%} of its "
                f"{timeout.to_seconds()} s timeout (2 of the last 3 five-minute periods): batches are close "
                "to running out of time, and samples then come back with status deadline (neutral reward). "
                "Raise reward_timeout_s or reward_memory_mb (more CPU), or make the spec cheaper "
                "(see GradingLatency and the judge metrics on the dashboard)."
            ),
        )
        self._add(
            "failed-status-rate",
            metrics.failed_status_rate(),
            threshold=thresholds.non_ok_rate,
            description=(
                f"More than {thresholds.non_ok_rate:g} of the dimension results in the last 5 minutes had a "
                f"status that is not a judgement of the response ({failed}). failed and timeout are scored "
                "like a wrong answer; the others get the spec's error policy (by default a neutral score), "
                "so training learns less from them. The non-ok statuses widget shows which status; the "
                "Lambda's logs name each sample id and reason. no_reference: fix the dataset rows; error: "
                "the judge or runner was throttled or denied (quotas, IAM); failed: see the charged-failure "
                "alarm; timeout/deadline: raise "
                "reward_timeout_s or reward_memory_mb. Threshold: context key alarm_non_ok_rate."
            ),
        )
        charged = ", ".join(metric_names.CHARGED_FAILURES)
        self._add(
            "charged-failure-rate",
            metrics.charged_failure_rate(),
            threshold=CHARGED_FAILURE_ALARM_RATE,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            description=(
                f"More than {CHARGED_FAILURE_ALARM_RATE:g} of the dimension results in 2 of the last 3 "
                f"five-minute periods could not be graded and were charged to the response ({charged}: "
                "scored like a wrong answer, vetoes fire). Either the policy learned to break the grader "
                "(crashing the code runner, stalling a regex, tripping the judge's filter) or a grader of "
                "ours has a bug. The Lambda's logs name each sample id and reason: if the reason is ours, "
                "fix the grader and raise InfrastructureError for faults that are not the response's "
                "(docs/time-limits.md)."
            ),
        )
        if uses_judge:
            self._add(
                "judge-throttle-rate",
                metrics.judge_throttle_rate(),
                threshold=thresholds.judge_throttle_rate,
                description=(
                    f"More than {thresholds.judge_throttle_rate:g} of the judge's Bedrock calls were "
                    "throttled in each of the last three 5-minute periods. The judge paces itself to the "
                    "quota and retries throttles until the batch deadline (some throttling is the cost of "
                    "finding the quota), but a share that stays this high means the reward Lambda's "
                    "fan-out asks for more than the judge model's quota: samples then get status deadline. "
                    "Request a higher Bedrock quota for the judge model (requests and tokens per minute), "
                    "use a cross-region inference profile (judge_model_id), or lower "
                    "reward_reserved_concurrency (docs/judge.md, Capacity). Threshold: context key "
                    "alarm_judge_throttle_rate."
                ),
                # "Stays high": paced invocations probe above the quota, so one period over is normal.
                evaluation_periods=3,
                datapoints_to_alarm=3,
            )

    @property
    def alarm_arns(self) -> list[str]:
        """The ARNs of every alarm (the topic policy lets exactly these publish)."""
        return [alarm.alarm_arn for alarm in self.alarms.values()]

    def _add(
        self,
        short_name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            short_name,
            alarm_name=f"{self._prefix}{short_name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # OK as well: whoever got the ALARM mail learns when it is over without opening the console.
        action = cloudwatch_actions.SnsAction(self._topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[short_name] = alarm
