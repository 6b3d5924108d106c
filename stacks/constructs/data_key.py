"""The customer-managed KMS key used when `encryption=kms`.

Rotation is on. The key policy is written out instead of CDK's default (`kms:*` for the account), so that
no policy in this app has a wildcard action: the account may administer and use the key through IAM
policies for exactly the actions below, and CDK grants (`key.grant_decrypt(role)`, ...) give each role only
what it needs in that role's own policy.
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


class DataKey(Construct):
    """A rotating symmetric KMS key for the app's data; the key is `self.key`."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
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
        self.key = kms.Key(
            self,
            "Key",
            description="Nova RFT Kit: datasets, training output and the custom model",
            enable_key_rotation=True,
            policy=policy,
            removal_policy=removal_policy,
        )
