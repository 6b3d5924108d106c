"""The training stack: the RFT job's service role, the job starter (when `start_job=true`), and the rule that
sends the job's state changes to the notification topic (which lives in the reward stack, with the alarms).

Thin by design: it composes the constructs in `stacks/constructs/`, wires them to the data and reward
stacks, acknowledges the cdk-nag findings that are safe (each on the exact construct, with its reason) and
declares the outputs a user needs to find the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.constructs.batch_inference_role import BatchInferenceRole
from stacks.constructs.job_notifications import JobStateRule, job_state_rule_name
from stacks.constructs.job_role import JobRole
from stacks.constructs.job_starter import JobStarter
from stacks.constructs.nag import acknowledge, acknowledge_values
from stacks.models import inference_model_id

if TYPE_CHECKING:
    from stacks.config import Config
    from stacks.data_stack import DataStack
    from stacks.reward_stack import RewardStack

#: The job's tags (the same keys app.py puts on every stack; CDK tags do not reach the Bedrock job).
PROJECT_TAG = "nova-rft-kit"

START_JOB_HINT = (
    "No training job was started (start_job=false; a job costs money). Start it with "
    'make deploy ARGS="-c start_job=true" (or: npx cdk deploy --all -c start_job=true), '
    "or by hand with the JobRoleArn output as the job's service role."
)


class TrainingStack(Stack):
    """The RFT job's service role, its optional starter, and job-state notifications.

    Attributes:
        job_role: the job's service role (exists even when no job is started).
        topic: the SNS topic job notifications go to (the reward stack's `topic`).
        starter: the `JobStarter` when `config.start_job`, else None.
        batch_role: the `BatchInferenceRole` when `config.batch_inference`, else None.
        job_state_rule: the EventBridge rule forwarding the job's state changes, when a job is started.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        data: DataStack,
        reward: RewardStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = data.encryption_key
        data_keys = [data.training_data_key]
        if data.validation_data_key:
            data_keys.append(data.validation_data_key)

        job_role = JobRole(
            self,
            "JobRole",
            dataset_bucket=data.dataset_bucket,
            data_keys=data_keys,
            output_bucket=data.output_bucket,
            output_prefix=data.output_prefix,
            reward_version=reward.version,
            encryption_key=key,
        )
        self.job_role = job_role.role
        acknowledge_values(
            self.job_role,
            "AwsSolutions-IAM5",
            resources=[job_role.output_objects_arn],
            reason="Bedrock writes the job's output (checkpoints, metrics) under job-specific keys it "
            "chooses at run time, so the job role needs s3:GetObject/PutObject on the output prefix "
            "(output/*) of the output bucket; nothing else in that bucket or any other is writable.",
        )

        # The topic lives in the reward stack, which deploys first, so its alarms can publish to it.
        self.topic = reward.topic
        self.job_state_rule: JobStateRule | None = None
        self.starter: JobStarter | None = None
        if config.start_job:
            self._start_job(config, data, reward)
        else:
            CfnOutput(self, "StartJob", value=START_JOB_HINT, description="How to start the RFT job.")

        self.batch_role: BatchInferenceRole | None = None
        if config.batch_inference:
            self._batch_inference(config, data)

        CfnOutput(
            self,
            "JobRoleArn",
            value=self.job_role.role_arn,
            description="Service role of the RFT job (use it to start a job by hand).",
        )
        CfnOutput(
            self,
            "NotificationTopicArn",
            value=self.topic.topic_arn,
            description="SNS topic that receives the job's state changes and the reward alarms.",
        )

    def _batch_inference(self, config: Config, data: DataStack) -> None:
        """The batch inference service role (`rft ... --via batch`) and the outputs the CLI reads."""
        batch = BatchInferenceRole(
            self,
            "BatchInference",
            input_bucket=data.dataset_bucket,
            output_bucket=data.output_bucket,
            model_id=inference_model_id(config.base_model_id, config.region),
            encryption_key=data.encryption_key,
        )
        self.batch_role = batch
        acknowledge_values(
            batch.role,
            "AwsSolutions-IAM5",
            resources=[batch.input_objects_arn, batch.output_objects_arn],
            reason="rft --via batch writes each batch's input file under a content-addressed key it picks at "
            "run time, and Bedrock names the result files after the job id; so the role reads objects under "
            f"{batch.input_prefix}* of the dataset bucket and writes under {batch.output_prefix}* of the output "
            "bucket, nothing else in either bucket.",
        )
        bucket_uri = f"s3://{data.dataset_bucket.bucket_name}/{batch.input_prefix}"
        CfnOutput(
            self,
            "BatchInferenceRoleArn",
            value=batch.role.role_arn,
            description="Service role for Bedrock batch inference (roleArn of CreateModelInvocationJob).",
        )
        CfnOutput(
            self, "BatchInputS3Uri", value=bucket_uri, description="Where rft --via batch uploads inputs."
        )
        CfnOutput(
            self,
            "BatchOutputS3Uri",
            value=f"s3://{data.output_bucket.bucket_name}/{batch.output_prefix}",
            description="Where Bedrock writes batch inference results.",
        )
        CfnOutput(
            self,
            "BatchModelId",
            value=batch.model_access.judge.model_id,
            description="The model the batch role may invoke (the base model's inference profile).",
        )
        if data.encryption_key is not None:
            CfnOutput(
                self,
                "BatchKmsKeyArn",
                value=data.encryption_key.key_arn,
                description="KMS key of the batch input and output objects.",
            )

    def _start_job(self, config: Config, data: DataStack, reward: RewardStack) -> None:
        """Add the job starter, the job resource, the state-change rule and the job outputs."""
        starter = JobStarter(
            self,
            "JobStarter",
            job_role=self.job_role,
            base_model_id=config.base_model_id,
            dataset_bucket=data.dataset_bucket,
            training_data_key=data.training_data_key,
            validation_data_key=data.validation_data_key,
            output_bucket=data.output_bucket,
            output_prefix=data.output_prefix,
            reward_version=reward.version,
            hyperparameters=config.hyperparameters,
            spec_sha256=reward.spec.sha256,
            control_template=reward.spec.control_template,
            name_prefix=config.name_prefix,
            preflight_rows=config.preflight_rows,
            tags={"project": PROJECT_TAG, "nova-rft:prefix": config.name_prefix},
            architecture=config.architecture,
            encryption_key=data.encryption_key,
            judge_model_id=config.judge_model_id if reward.uses_judge else "",
            judge_calls_per_sample=sum(1 for g in reward.spec.graders if g.name == "judge"),
            reward_reserved_concurrency=config.reward_reserved_concurrency,
        )
        self.starter = starter
        # Preflight reads dataset rows from S3: the upload must have finished first.
        starter.resource.node.add_dependency(data.deployment)
        self._acknowledge_starter(starter)

        # The reward stack's topic policy lets exactly this rule name publish (allow_job_state_rule).
        self.job_state_rule = JobStateRule(
            self,
            "JobStateChange",
            topic=self.topic,
            job_arn=starter.job_arn,
            rule_name=job_state_rule_name(config.name_prefix),
        )
        acknowledge(
            self.job_state_rule.rule,
            "Serverless-EventBusDLQ",
            "The rule only forwards job state changes to the notification topic; EventBridge retries "
            "delivery for 24 hours, and the job's state stays available from Bedrock "
            "(GetModelCustomizationJob, the ConsoleUrl output), so a lost notification loses no data.",
        )

        CfnOutput(self, "JobArn", value=starter.job_arn, description="ARN of the Bedrock RFT job.")
        CfnOutput(self, "JobName", value=starter.job_name, description="Name of the Bedrock RFT job.")
        CfnOutput(
            self,
            "CustomModelName",
            value=starter.custom_model_name,
            description="Name the trained custom model gets when the job completes.",
        )
        CfnOutput(
            self, "ConsoleUrl", value=starter.console_url, description="The job in the Bedrock console."
        )

    @staticmethod
    def _acknowledge_starter(starter: JobStarter) -> None:
        """The starter's and the Provider framework's findings that are safe, each with why."""
        acknowledge_values(
            starter.role,
            "AwsSolutions-IAM5",
            resources=[starter.custom_model_arns, starter.job_arns],
            reason="Model-customization job and custom-model ARNs end in ids Bedrock generates when the job is "
            "created, so they can only be matched with model-customization-job/* and custom-model/* (the "
            "same scoping as CDK's BedrockCreateModelCustomizationJob task); every other resource is exact.",
        )
        once_per_deploy = (
            "The job starter runs once per deployment, invoked synchronously by the CloudFormation Provider "
            "framework; a failure fails the deployment with its message in the stack events and logs"
        )
        acknowledge(
            starter.function, "Serverless-LambdaDLQ", f"{once_per_deploy}: nothing is left to redrive."
        )
        acknowledge(
            starter.function,
            "Serverless-LambdaTracing",
            f"{once_per_deploy}. X-Ray would add little over its logs and needs xray:Put* on Resource '*'.",
        )

        # CDK's Provider framework function: its code, role, runtime and settings are generated by aws-cdk-lib.
        # Its role is ours (JobStarter.provider_role: its own log group, no managed policy).
        framework = starter.provider.node.find_child("framework-onEvent")
        acknowledge_values(
            starter.provider_role,
            "AwsSolutions-IAM5",
            resources=[f"{starter.function.function_arn}:*"],
            reason="CDK's Provider framework grants itself lambda:InvokeFunction on the job starter's ARN and "
            "'<arn>:*' (its versions); the wildcard covers only that one function.",
        )
        for rule_id, why in (
            (
                "Serverless-LambdaDLQ",
                "CloudFormation invokes it and waits for its answer; it reports every failure of the job "
                "starter back to CloudFormation (the deployment fails), so a dead-letter queue would hold "
                "nothing to act on",
            ),
            ("Serverless-LambdaTracing", "tracing is not configurable on CDK's Provider framework function"),
            (
                "Serverless-LambdaDefaultMemorySize",
                "its memory size is chosen by aws-cdk-lib, not configurable",
            ),
        ):
            acknowledge(framework, rule_id, f"CDK's Provider framework function: {why}.")
