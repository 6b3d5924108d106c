"""The custom resource that smoke-tests the deployed grader and starts the Bedrock RFT job.

CloudFormation has no resource for model-customization jobs (docs/contract.md §3), so a Python Lambda behind
the CDK Provider framework does it: on Create it preflights the reward Lambda with real dataset rows and then
calls CreateModelCustomizationJob; on Delete it stops the job if it is still running. The code lives in
`lambda_src/job_starter/` (entry `job_starter.handler.on_event`); this module only deploys it.

There is no isComplete handler on purpose: jobs run for hours and a custom resource can wait at most one
hour, so the resource returns as soon as the job is started and EventBridge reports the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.constructs.job_role import (
    custom_model_key_statement,
    kms_via_service,
    model_customization_job_arns,
)
from stacks.constructs.nag import acknowledge
from stacks.constructs.python_function import PythonFunction, lambda_role
from stacks.paths import LAMBDA_SRC

#: The starter's bundle: its own package, the reward library it preflights with, and its pinned boto3
#: (the runtime's bundled boto3 may predate `rftConfig`).
STARTER_PACKAGES: tuple[Path, ...] = (LAMBDA_SRC / "job_starter", LAMBDA_SRC / "reward")
STARTER_REQUIREMENTS = LAMBDA_SRC / "job_starter" / "requirements.txt"
STARTER_HANDLER = "job_starter.handler.on_event"

#: The tag key whose value (the name prefix) marks the jobs this app started; app.py puts the same tag on
#: every stack. Get/Stop are allowed only on jobs carrying it (aws:ResourceTag).
OWNER_TAG_KEY = "nova-rft:prefix"

#: The CloudFormation type of the job resource (shows in the console and in stack events).
RESOURCE_TYPE = "Custom::NovaRftJob"

#: How long the starter may run: preflight invokes the reward Lambda (up to its own timeout) and retries
#: role-propagation errors for about a minute. One minute under the Provider framework's own 15-minute
#: limit, so that a starter timeout still reaches CloudFormation as a failure with a message (instead of
#: both timing out together). Lambda bills only the time used.
STARTER_TIMEOUT = Duration.minutes(14)
STARTER_MEMORY_MB = 512
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


def foundation_model_arn(scope: Construct, base_model_id: str) -> str:
    """The foundation-model ARN of `base_model_id` (an ARN passes through unchanged)."""
    if base_model_id.startswith("arn:"):
        return base_model_id
    return Stack.of(scope).format_arn(
        service="bedrock", account="", resource="foundation-model", resource_name=base_model_id
    )


class JobStarter(Construct):
    """Deploys the job-starter Lambda, its Provider and the job custom resource (`self.resource`).

    `job_arn`, `job_name`, `custom_model_name` and `console_url` are the resource's Data attributes.
    The starter's role gets exactly what the handler calls: read the training rows it preflights with,
    invoke the pinned reward version, create/get/stop/tag model-customization jobs, and pass the job
    role to Bedrock only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_role: iam.IRole,
        base_model_id: str,
        dataset_bucket: s3.IBucket,
        training_data_key: str,
        validation_data_key: str | None,
        output_bucket: s3.IBucket,
        output_prefix: str,
        reward_version: lambda_.IVersion,
        hyperparameters: Mapping[str, int | float | str],
        spec_sha256: str,
        control_template: str,
        name_prefix: str,
        preflight_rows: int,
        tags: Mapping[str, str],
        architecture: str,
        encryption_key: kms.IKey | None = None,
        judge_model_id: str = "",
        judge_calls_per_sample: int = 0,
        reward_reserved_concurrency: int = 0,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Job and custom-model ARNs end in ids Bedrock generates, so these are the role's only wildcards.
        self.job_arns = model_customization_job_arns(self)
        self.custom_model_arns = stack.format_arn(
            service="bedrock", resource="custom-model", resource_name="*"
        )

        #: The tag every job this app starts carries (jobTags): the starter may watch and stop only those.
        self.tags = {**tags, OWNER_TAG_KEY: name_prefix}
        self.job_tag = (OWNER_TAG_KEY, name_prefix)
        starter = PythonFunction(
            self,
            "Default",
            description="Preflights the reward Lambda and starts the Bedrock RFT job (custom resource).",
            role_description="Job starter (Nova RFT Kit): preflights the grader and starts the RFT job.",
            handler=STARTER_HANDLER,
            packages=STARTER_PACKAGES,
            requirements=STARTER_REQUIREMENTS,
            architecture=architecture,
            memory_mb=STARTER_MEMORY_MB,
            timeout=STARTER_TIMEOUT,
            log_retention=LOG_RETENTION,
            log_encryption_key=encryption_key,
            log_group_id="LogGroup",
            inline_policies={
                "JobStarter": iam.PolicyDocument(
                    statements=self._statements(
                        job_role=job_role,
                        base_model_id=base_model_id,
                        training_object_arn=dataset_bucket.arn_for_objects(training_data_key),
                        reward_version=reward_version,
                        encryption_key=encryption_key,
                        judge=bool(judge_model_id),
                    )
                )
            },
        )
        self.log_group, self.role, self.function = starter.log_group, starter.role, starter.function
        quota_read = (
            "servicequotas:ListServiceQuotas has no resource type (the Service Authorization Reference "
            "requires Resource *); it only reads quota values, for the judge quota report"
        )
        if judge_model_id:
            acknowledge(self.role, "AwsSolutions-IAM5", quota_read, applies_to=("Resource::*",))
        if judge_model_id:
            # Reported on the role's policy (the Serverless pack reads the function's role).
            acknowledge(self.role, "Serverless-LambdaStarPermissions", quota_read)

        self.provider_log_group = logs.LogGroup(
            self, "ProviderLogGroup", retention=LOG_RETENTION, encryption_key=encryption_key
        )
        # The Provider framework's function gets a role of its own: by default aws-cdk-lib attaches the
        # managed AWSLambdaBasicExecutionRole (logs on every log group in the account). This one writes to
        # its own log group only; the Provider adds lambda:InvokeFunction on the starter itself.
        self.provider_role = lambda_role(
            self,
            "ProviderRole",
            description="Provider framework of the job starter (Nova RFT Kit): invokes the starter, logs.",
            log_group=self.provider_log_group,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            log_group=self.provider_log_group,
            role=self.provider_role,
        )

        validation_uri = dataset_bucket.s3_url_for_object(validation_data_key) if validation_data_key else ""
        self.resource = CustomResource(
            self,
            "Job",
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "RoleArn": job_role.role_arn,
                "BaseModelIdentifier": base_model_id,
                "TrainingDataS3Uri": dataset_bucket.s3_url_for_object(training_data_key),
                "ValidationDataS3Uri": validation_uri,
                "OutputDataS3Uri": output_bucket.s3_url_for_object(output_prefix),
                "RewardFunctionArn": reward_version.function_arn,
                "HyperParameters": json.dumps(dict(hyperparameters), sort_keys=True),
                "CustomModelKmsKeyId": encryption_key.key_arn if encryption_key is not None else "",
                "SpecSha256": spec_sha256,
                "NamePrefix": name_prefix,
                "PreflightRows": str(preflight_rows),
                "ControlTemplate": control_template,
                "Tags": json.dumps([{"key": k, "value": v} for k, v in sorted(self.tags.items())]),
                # Not run-defining (job_name.RUN_DEFINING_PROPERTIES): only the judge quota report.
                "JudgeModelId": judge_model_id,
                "JudgeCallsPerSample": str(judge_calls_per_sample),
                "RewardReservedConcurrency": str(reward_reserved_concurrency),
            },
        )
        self.job_arn = self.resource.get_att_string("JobArn")
        self.job_name = self.resource.get_att_string("JobName")
        self.custom_model_name = self.resource.get_att_string("CustomModelName")
        self.console_url = self.resource.get_att_string("ConsoleUrl")

    def _statements(
        self,
        *,
        job_role: iam.IRole,
        base_model_id: str,
        training_object_arn: str,
        reward_version: lambda_.IVersion,
        encryption_key: kms.IKey | None,
        judge: bool = False,
    ) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(
                sid="ReadPreflightRows", actions=["s3:GetObject"], resources=[training_object_arn]
            ),
            iam.PolicyStatement(
                sid="PreflightRewardFunctionVersion",
                actions=["lambda:InvokeFunction"],
                resources=[reward_version.function_arn],
            ),
            # The resource types the Service Authorization Reference lists for the action: the base model
            # and the custom model it creates (whose ARN carries a service-generated id, hence `/*`). The
            # request must carry the app's tag (aws:RequestTag), so every job it creates is one it may watch.
            iam.PolicyStatement(
                sid="CreateTrainingJob",
                actions=["bedrock:CreateModelCustomizationJob"],
                resources=[foundation_model_arn(self, base_model_id), self.custom_model_arns],
                conditions={"StringEquals": {f"aws:RequestTag/{self.job_tag[0]}": self.job_tag[1]}},
            ),
            # Creating a job with jobTags/customModelTags is also authorized as TagResource on the new job
            # and model: exactly the app's tag keys, with the app's owner value.
            iam.PolicyStatement(
                sid="TagNewTrainingJob",
                actions=["bedrock:TagResource"],
                resources=[self.custom_model_arns, self.job_arns],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{self.job_tag[0]}": self.job_tag[1]},
                    "ForAllValues:StringEquals": {"aws:TagKeys": sorted(self.tags)},
                },
            ),
            # Only jobs this app started (tagged with its prefix), not every job in the account and region.
            iam.PolicyStatement(
                sid="WatchTrainingJob",
                actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
                resources=[self.job_arns],
                conditions={"StringEquals": {f"aws:ResourceTag/{self.job_tag[0]}": self.job_tag[1]}},
            ),
            iam.PolicyStatement(
                sid="PassJobRoleToBedrock",
                actions=["iam:PassRole"],
                resources=[job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            ),
        ]
        if judge:
            # The judge model's Bedrock quota, read by name (job_starter/judge_quota.py): a report only.
            statements.append(
                iam.PolicyStatement(
                    sid="ReadJudgeQuota", actions=["servicequotas:ListServiceQuotas"], resources=["*"]
                )
            )
        if encryption_key is not None:
            statements += [
                iam.PolicyStatement(
                    sid="DecryptPreflightRows",
                    actions=["kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                    conditions=kms_via_service(self, "s3"),
                ),
                custom_model_key_statement(self, encryption_key, sid="EncryptCustomModel"),
            ]
        return statements
