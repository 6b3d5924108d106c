"""An S3 bucket with the baseline every bucket of this app gets.

Encrypted (SSE-S3, or SSE-KMS with a bucket key when a customer key is given), TLS-only (TLS >= 1.2),
public access blocked, ACLs disabled, versioned, server access logs to the log bucket, and retained on
stack deletion unless the caller asks for DESTROY (then emptied by CDK's auto-delete custom resource).

CDK's auto-delete custom resource grants itself `s3:GetBucket*`, `s3:List*` and `s3:DeleteObject*` in the
bucket policy. Its handler calls exactly GetBucketTagging, GetBucketPolicy, PutBucketPolicy,
ListObjectVersions and DeleteObjects (with version ids), so the statement is rewritten at synth time to
those actions: no policy of this app allows a wildcard action.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

#: The statement CDK's auto-delete custom resource adds to the bucket policy...
_AUTO_DELETE_ACTIONS = frozenset({"s3:PutBucketPolicy", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*"})
#: ...and what its handler (aws-cdk-lib 2.275 `auto-delete-objects-handler`) actually calls.
AUTO_DELETE_EXPLICIT_ACTIONS: tuple[str, ...] = (
    "s3:GetBucketTagging",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:ListBucketVersions",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
)


@jsii.implements(cdk.IResolvable)
class _ExplicitAutoDeleteActions:
    """Resolves to the bucket policy's statements with the auto-delete wildcards spelled out."""

    def __init__(self, document: object) -> None:
        self._document = document

    @property
    def creation_stack(self) -> list[str]:
        return []

    @property
    def type_hint(self) -> None:
        return None

    def to_string(self) -> str:
        return cdk.Token.as_string(self)

    def resolve(self, context: cdk.IResolveContext) -> object:
        resolved = context.resolve(self._document)
        statements = []
        for statement in resolved["Statement"]:
            actions = statement.get("Action")
            if (
                statement.get("Effect") == "Allow"
                and isinstance(actions, list)
                and set(actions) == _AUTO_DELETE_ACTIONS
            ):
                statement = {**statement, "Action": list(AUTO_DELETE_EXPLICIT_ACTIONS)}
            statements.append(statement)
        return statements


class SecureBucket(Construct):
    """A private, encrypted, versioned, access-logged bucket. The bucket is `self.bucket`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: cdk.RemovalPolicy,
        encryption_key: kms.IKey | None = None,
        access_log_bucket: s3.IBucket | None = None,
        access_log_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        destroy = removal_policy == cdk.RemovalPolicy.DESTROY
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=encryption_key,
            # One data key per bucket instead of one KMS call per object: cheaper, fewer throttles.
            bucket_key_enabled=True if encryption_key else None,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix=access_log_prefix,
            removal_policy=removal_policy,
            auto_delete_objects=destroy,
        )
        if destroy and self.bucket.policy is not None:
            policy = self.bucket.policy.node.default_child
            assert isinstance(policy, s3.CfnBucketPolicy)
            policy.add_property_override(
                "PolicyDocument.Statement", _ExplicitAutoDeleteActions(self.bucket.policy.document)
            )
