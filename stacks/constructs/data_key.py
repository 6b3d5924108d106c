"""The customer-managed KMS keys used when `encryption=kms`.

Rotation is on. Key policies are written out instead of CDK's default (`kms:*` for the account), so that
no policy in this app has a wildcard action: the account may administer and use a key through IAM
policies for exactly the actions below, and each role gets only what it needs in its own policy.

The data key (`DataKey`) protects datasets, job output, the custom model and the app's log groups. Its
policy names no AWS service principal without a condition: the only service in it is CloudWatch Logs,
and only for log groups of this app's stacks (`kms:EncryptionContext:aws:logs:arn`, as the CloudWatch
Logs user guide's "Encrypt log data in CloudWatch Logs using AWS KMS" prescribes). The notification
topic has its own small key (`customer_managed_key`, in `job_notifications.py`), because EventBridge
can only publish to an encrypted topic when the key policy allows `events.amazonaws.com` without
conditions.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: Everything an account administrator (through IAM) may do with the key; no wildcards. Without the
#: policy and deletion actions the key could become unmanageable (KMS refuses such policies anyway).
ACCOUNT_KEY_ACTIONS: tuple[str, ...] = (
    # administration
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:ListKeyPolicies",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ListKeyRotations",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:UpdateKeyDescription",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ListResourceTags",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:CreateGrant",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    # use (symmetric encryption key)
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
)


#: What CloudWatch Logs does with the key of an encrypted log group (the user guide's `kms:Encrypt*`,
#: `kms:Decrypt*`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:Describe*`, written out).
LOGS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)


def customer_managed_key(
    scope: Construct, construct_id: str, *, description: str, removal_policy: cdk.RemovalPolicy
) -> kms.Key:
    """A rotating symmetric key whose policy lets the account manage and use it through IAM only."""
    policy = iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AccountManagesKeyThroughIam",
                principals=[iam.AccountRootPrincipal()],
                actions=list(ACCOUNT_KEY_ACTIONS),
                # In a key policy "*" means "this key".
                resources=["*"],
            )
        ]
    )
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        policy=policy,
        removal_policy=removal_policy,
    )


def log_group_arn_pattern(scope: Construct, name_prefix: str) -> str:
    """The ARN pattern of the log groups of this app's stacks (`<prefix>-data`, `-reward`, `-training`).

    CloudFormation names a log group that has no `LogGroupName` `<stack name>-<logical id>-<suffix>`, so
    every log group of the app starts with `<prefix>-`.
    """
    return cdk.Stack.of(scope).format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"{name_prefix}-*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


class DataKey(Construct):
    """A rotating symmetric KMS key for the app's data and logs; the key is `self.key`.

    `name_prefix` is the app's stack-name prefix: CloudWatch Logs may use the key for the log groups of
    those stacks only.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, removal_policy: cdk.RemovalPolicy, name_prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = customer_managed_key(
            self,
            "Key",
            description="Nova RFT Kit: datasets, training output, the custom model and the app's logs",
            removal_policy=removal_policy,
        )
        stack = cdk.Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsThisAppsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": log_group_arn_pattern(self, name_prefix)
                    }
                },
            )
        )
