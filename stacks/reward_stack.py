"""The reward stack: the reward Lambda (code + spec), its role, log group and published version, its alarms and
dashboard, and the notification topic; for a spec with the `code` grader, the network-isolated code runner."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from reward.metric_names import NAMESPACE_ENV, SERVICE
from reward.spec import Spec, load_spec
from stacks.config import Config
from stacks.constructs.code_sandbox import CODE_RUNNER_FUNCTION_ENV, CodeSandbox
from stacks.constructs.job_notifications import Notifications, job_state_rule_name
from stacks.constructs.judge_access import JudgeAccess
from stacks.constructs.nag import acknowledge
from stacks.constructs.reward_alarms import AlarmThresholds
from stacks.constructs.reward_function import RewardFunction
from stacks.constructs.reward_monitoring import RewardMonitoring


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
        sandbox: the code runner and its VPC (a `CodeSandbox`) when the spec uses the `code` grader, else None.
        topic: the notification topic (job state changes and reward alarms; encrypted with its own key
        when `encryption=kms`).  monitoring: the alarms and the dashboard. With `encryption=kms` the log
        group is encrypted with `encryption_key` (the data key).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        encryption_key: kms.IKey | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if config.kms and encryption_key is None:
            raise ValueError("encryption=kms: pass the data stack's key (encryption_key=data.encryption_key)")
        self.spec: Spec = load_spec(config.reward_spec)
        #: True when the spec grades with an LLM judge (Bedrock Converse): the role may then invoke it.
        self.uses_judge: bool = self.spec.uses_judge
        #: The CloudWatch namespace of this deployment's reward metrics (reward.metric_names).
        self.metrics_namespace: str = f"NovaRft/{config.name_prefix}"
        #: True when the spec runs the response's program: the sandboxed code runner is then deployed.
        self.uses_code: bool = self.spec.uses_code
        self.sandbox: CodeSandbox | None = None
        environment = reward_environment(config, uses_judge=self.uses_judge, namespace=self.metrics_namespace)
        if self.uses_code:
            self.sandbox = CodeSandbox(
                self,
                "CodeSandbox",
                architecture=config.architecture,
                memory_mb=config.code_runner_memory_mb,
                timeout_s=config.code_runner_timeout_s,
                reserved_concurrency=config.code_runner_reserved_concurrency,
                removal_policy=config.removal_policy,
                metrics_namespace=self.metrics_namespace,
                log_encryption_key=encryption_key,  # the data key when encryption=kms, as the reward's logs
            )
            # The version ARN, not the function name: this reward version always calls this runner build.
            environment[CODE_RUNNER_FUNCTION_ENV] = self.sandbox.version.function_arn
        reward = RewardFunction(
            self,
            "Reward",
            spec_path=config.reward_spec,
            architecture=config.architecture,
            memory_mb=config.reward_memory_mb,
            timeout_s=config.reward_timeout_s,
            reserved_concurrency=config.reward_reserved_concurrency,
            removal_policy=config.removal_policy,
            log_encryption_key=encryption_key,
            environment=environment,
        )
        self.function: lambda_.Function = reward.function
        self.version: lambda_.IVersion = reward.version
        self._acknowledge(reward)
        # bedrock:InvokeModel on exactly the judge model (stacks/constructs/judge_access.py)
        if self.uses_judge:
            judge = JudgeAccess(
                self,
                "JudgeAccess",
                role=reward.role,
                model_id=config.judge_model_id,
                profile_regions=config.judge_profile_regions,
            )
            self.function.node.add_dependency(judge.policy)  # no invocation before the grant exists
            cdk.CfnOutput(self, "JudgeModelId", value=config.judge_model_id, description="LLM judge model")

        if self.sandbox is not None:
            invoke = self.sandbox.grant_invoke(reward.role)
            self.function.node.add_dependency(invoke)  # the preflight's first batch needs the grant
            cdk.CfnOutput(
                self,
                "CodeRunnerFunctionName",
                value=self.sandbox.function.function_name,
                description="Code runner Lambda (no network; runs the code grader's programs)",
            )
            cdk.CfnOutput(
                self,
                "CodeRunnerVersionArn",
                value=self.sandbox.version.function_arn,
                description="Code runner version the reward Lambda invokes (CODE_RUNNER_FUNCTION)",
            )
            cdk.CfnOutput(
                self,
                "CodeSandboxVpcId",
                value=self.sandbox.vpc.vpc_id,
                description="Code runner's isolated VPC",
            )

        self._monitor(config)
        if self.sandbox is not None:
            self.monitoring.dashboard.dashboard.add_widgets(
                *self.sandbox.dashboard_widgets(timeout_s=config.code_runner_timeout_s)
            )

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

    def _monitor(self, config: Config) -> None:
        """The notification topic (job state changes and alarms), the alarms and the dashboard."""
        self.notifications = Notifications(
            self,
            "Notifications",
            display_name=f"Nova RFT Kit {config.name_prefix}: RFT job and reward alarms",
            encrypt=config.kms,
            email=config.notification_email,
        )
        #: The SNS topic the job's state changes (training stack) and the reward alarms go to.
        self.topic = self.notifications.topic
        if config.start_job:
            self.notifications.allow_job_state_rule(job_state_rule_name(config.name_prefix))
        self.monitoring = RewardMonitoring(
            self,
            "Monitoring",
            name_prefix=config.name_prefix,
            function=self.function,
            timeout=cdk.Duration.seconds(config.reward_timeout_s),
            namespace=self.metrics_namespace,
            dimensions=[d.name for d in self.spec.dimensions],
            uses_judge=self.uses_judge,
            thresholds=AlarmThresholds(
                non_ok_rate=config.alarm_non_ok_rate, judge_throttle_rate=config.alarm_judge_throttle_rate
            ),
            notifications=self.notifications,
        )
        cdk.CfnOutput(
            self,
            "DashboardUrl",
            value=self.monitoring.dashboard_url,
            description="CloudWatch dashboard of the reward Lambda (rewards, statuses, duration, judge)",
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
            "Grading is CPU-bound, except a judge spec's Bedrock Converse calls, whose count, throttles, "
            "retries and tokens are EMF metrics on the reward dashboard; duration and errors are in its "
            "CloudWatch metrics and per-sample statuses in its reply and logs. X-Ray would bill every "
            "invocation of the RFT fan-out and needs xray:PutTraceSegments on Resource '*'.",
        )
