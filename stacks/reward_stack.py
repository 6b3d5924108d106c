"""The reward stack: the reward Lambda (code + spec), its role, log group and published version."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from reward.metric_names import NAMESPACE_ENV, SERVICE
from reward.spec import Spec, load_spec
from stacks.config import Config
from stacks.constructs.nag import acknowledge
from stacks.constructs.reward_function import RewardFunction


def reward_environment(config: Config, *, uses_judge: bool, namespace: str) -> dict[str, str]:
    """The reward Lambda's environment (besides REWARD_SPEC): logging, metrics and the judge model."""
    environment = {
        "LOG_LEVEL": config.log_level,
        "POWERTOOLS_LOG_LEVEL": config.log_level,
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        NAMESPACE_ENV: namespace,
    }
    if uses_judge:
        environment["JUDGE_MODEL_ID"] = config.judge_model_id
    return environment


class RewardStack(cdk.Stack):
    """The grader the RFT job calls.

    Attributes:
        function: the reward Lambda.  version: its published version (the job pins to it).
        spec: the validated reward spec bundled with it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.spec: Spec = load_spec(config.reward_spec)
        #: True when the spec grades with an LLM judge (Bedrock Converse): the role may then invoke it.
        self.uses_judge: bool = "judge" in self.spec.graders_used
        #: The CloudWatch namespace of this deployment's reward metrics (reward.metric_names).
        self.metrics_namespace: str = f"NovaRft/{config.name_prefix}"
        reward = RewardFunction(
            self,
            "Reward",
            spec_path=config.reward_spec,
            architecture=config.architecture,
            memory_mb=config.reward_memory_mb,
            timeout_s=config.reward_timeout_s,
            removal_policy=config.removal_policy,
            environment=reward_environment(
                config, uses_judge=self.uses_judge, namespace=self.metrics_namespace
            ),
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
