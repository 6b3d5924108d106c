"""Monitoring of the reward Lambda: its alarms (to the notification topic) and its dashboard.

Composes `RewardAlarms` and `RewardDashboard` over one `RewardMetrics` (the metric names of
`reward.metric_names`, in the deployment's namespace) and lets exactly those alarms publish to the topic.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.job_notifications import Notifications
from stacks.constructs.reward_alarms import AlarmThresholds, RewardAlarms
from stacks.constructs.reward_dashboard import RewardDashboard
from stacks.constructs.reward_metrics import RewardMetrics


def dashboard_name(name_prefix: str) -> str:
    """The dashboard's name: one per deployment."""
    return f"{name_prefix}-reward"


class RewardMonitoring(Construct):
    """Alarms (`self.alarms`) and the dashboard (`self.dashboard`, console URL `self.dashboard_url`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        function: lambda_.IFunction,
        timeout: cdk.Duration,
        namespace: str,
        dimensions: Sequence[str],
        uses_judge: bool,
        thresholds: AlarmThresholds,
        notifications: Notifications,
    ) -> None:
        super().__init__(scope, construct_id)
        metrics = RewardMetrics(namespace)
        self.alarms = RewardAlarms(
            self,
            "Alarms",
            name_prefix=name_prefix,
            function=function,
            timeout=timeout,
            metrics=metrics,
            uses_judge=uses_judge,
            thresholds=thresholds,
            topic=notifications.topic,
        )
        notifications.allow_alarms(self.alarms.alarm_arns)
        self.dashboard = RewardDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name(name_prefix),
            function=function,
            timeout=timeout,
            metrics=metrics,
            dimensions=dimensions,
            uses_judge=uses_judge,
            thresholds=thresholds,
            alarms=list(self.alarms.alarms.values()),
        )
        self.dashboard_url: str = self.dashboard.url
