"""The reward stack: the reward Lambda (code + spec), its role, log group and published version."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from reward.spec import Spec, load_spec
from stacks.config import Config
from stacks.constructs.nag import acknowledge
from stacks.constructs.reward_function import RewardFunction


class RewardStack(cdk.Stack):
    """The grader the RFT job calls.

    Attributes:
        function: the reward Lambda.  version: its published version (the job pins to it).
        spec: the validated reward spec bundled with it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.spec: Spec = load_spec(config.reward_spec)
        reward = RewardFunction(
            self,
            "Reward",
            spec_path=config.reward_spec,
            architecture=config.architecture,
            memory_mb=config.reward_memory_mb,
            timeout_s=config.reward_timeout_s,
            removal_policy=config.removal_policy,
        )
        self.function: lambda_.Function = reward.function
        self.version: lambda_.IVersion = reward.version
        self._acknowledge(reward)

        cdk.CfnOutput(
            self, "RewardFunctionName", value=self.function.function_name, description="Reward Lambda"
        )
        cdk.CfnOutput(
            self, "RewardFunctionArn", value=self.function.function_arn, description="Reward Lambda ARN"
        )
        cdk.CfnOutput(
            self,
            "RewardFunctionVersionArn",
            value=self.version.function_arn,
            description="Published version the RFT job invokes (never $LATEST)",
        )
        cdk.CfnOutput(
            self, "RewardSpecSha256", value=self.spec.sha256, description=f"sha256 of {self.spec.path.name}"
        )

    @staticmethod
    def _acknowledge(reward: RewardFunction) -> None:
        function = reward.function.node.default_child
        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "The RFT job invokes the reward function synchronously (RequestResponse) and gets every error "
            "in the reply; a dead-letter queue only ever receives failed asynchronous invocations.",
        )
        acknowledge(
            function,
            "Serverless-LambdaTracing",
            "The reward function calls no other service (CPU-only grading); duration and errors are in its "
            "CloudWatch metrics and per-sample statuses in its reply and logs. X-Ray would bill every "
            "invocation of the RFT fan-out and needs xray:PutTraceSegments on Resource '*'.",
        )
