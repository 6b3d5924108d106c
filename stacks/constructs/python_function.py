"""Every Lambda function of the kit, written once: a Python function on the one runtime, bundled locally,
with its own log group (retention, optional KMS key), a role that may write to that log group and nothing
else, JSON logs, and — for the functions a job pins — a published version that an update never deletes.

`lambda_role` is the role on its own, for the functions CDK creates for us (the dataset upload's copy
function, the custom-resource provider): they get a log group and a role of ours, but not our
`lambda_.Function`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.constructs.local_bundling import LAMBDA_RUNTIME, python_lambda_code

#: Lambda architecture name (context key `architecture`) -> CDK architecture.
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


def lambda_role(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    log_group: logs.ILogGroup,
    inline_policies: Mapping[str, iam.PolicyDocument] | None = None,
) -> iam.Role:
    """A role Lambda assumes that may write to ``log_group`` and nothing else (written out instead of the
    managed AWSLambdaBasicExecutionRole, which allows every log group in the account); callers add what
    their function needs on top."""
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
        inline_policies=dict(inline_policies) if inline_policies else None,
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    )
    return role


class PythonFunction(Construct):
    """A Python Lambda function with its own log group and role. Attributes: `function`, `role`,
    `log_group`, and `version` (the published version, made when first asked for).

    ``log_group_id`` is the log group's id as the owner wrote it before (the job starter's is ``LogGroup``).
    The construct that owns one creates it with the id ``"Default"``, which CDK leaves out of logical ids:
    the log group, role and function keep the logical ids they had when each construct wrote them itself,
    so an update of a deployed stack changes them in place instead of replacing them (a replaced reward
    function would take the version a running job invokes with it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        role_description: str,
        handler: str,
        packages: Sequence[Path],
        architecture: str,
        memory_mb: int,
        timeout: cdk.Duration,
        log_retention: logs.RetentionDays,
        requirements: Path | None = None,
        extra_files: Mapping[str, Path] | None = None,
        environment: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
        log_encryption_key: kms.IKey | None = None,
        inline_policies: Mapping[str, iam.PolicyDocument] | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        log_group_id: str = "Logs",
    ) -> None:
        super().__init__(scope, construct_id)
        # Created before the function, so the role needs no logs:CreateLogGroup.
        self.log_group = logs.LogGroup(
            self,
            log_group_id,
            retention=log_retention,
            removal_policy=removal_policy,
            encryption_key=log_encryption_key,
        )
        self.role = lambda_role(
            self,
            "Role",
            description=role_description,
            log_group=self.log_group,
            inline_policies=inline_policies,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=LAMBDA_RUNTIME,
            architecture=ARCHITECTURES[architecture],
            handler=handler,
            code=python_lambda_code(
                packages=packages,
                extra_files=extra_files,
                requirements=requirements,
                architecture=architecture,
            ),
            memory_size=memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            environment={**(environment or {}), "PYTHONUNBUFFERED": "1"},
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=list(security_groups) if security_groups is not None else None,
            # A code change publishes a new version; the old one must survive the update, since a job
            # started on it keeps invoking it for hours (CloudFormation would delete it otherwise).
            current_version_options=lambda_.VersionOptions(removal_policy=cdk.RemovalPolicy.RETAIN),
        )
        # The role's policy must exist before the function runs (CDK attaches it after creation otherwise);
        # in a VPC, Lambda creates the network interfaces with it when the function is created.
        self.function.node.add_dependency(self.role)

    @property
    def version(self) -> lambda_.IVersion:
        """The published version, created the first time it is asked for (a job pins it, never
        ``$LATEST``); an update publishes a new one and keeps this one."""
        return self.function.current_version
