"""The bucket every bucket of the app is built from, on a bare stack (`Template.from_stack`): what a security
reviewer checks first — encryption, TLS, public access, retention — whichever stack owns it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from app import cdk_json_context
from stacks.constructs.secure_bucket import AUTO_DELETE_EXPLICIT_ACTIONS, SecureBucket
from tests.iam import actions_of, statements

pytestmark = pytest.mark.slow


def template(*, kms_key: bool = False, destroy: bool = False) -> dict[str, Any]:
    stack = cdk.Stack(cdk.App(context=cdk_json_context()), "S", env=cdk.Environment(region="us-east-1"))
    key = kms.Key(stack, "Key", enable_key_rotation=True) if kms_key else None
    logs = SecureBucket(stack, "Logs", removal_policy=cdk.RemovalPolicy.RETAIN).bucket
    SecureBucket(
        stack,
        "Data",
        removal_policy=cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN,
        encryption_key=key,
        access_log_bucket=logs,
        access_log_prefix="data/",
    )
    return Template.from_stack(stack).to_json()["Resources"]


def data_bucket(resources: dict[str, Any]) -> dict[str, Any]:
    (bucket,) = [r for k, r in resources.items() if r["Type"] == "AWS::S3::Bucket" and k.startswith("Data")]
    return bucket


def data_policy(resources: dict[str, Any]) -> dict[str, Any]:
    (policy,) = [
        r for k, r in resources.items() if r["Type"] == "AWS::S3::BucketPolicy" and k.startswith("Data")
    ]
    return policy


@pytest.fixture(scope="module")
def retained() -> dict[str, Any]:
    return template()


def test_objects_are_encrypted_with_s3_managed_keys_by_default(retained: dict[str, Any]) -> None:
    """SSE-S3 unless a customer key is given."""
    rule = data_bucket(retained)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_a_customer_key_encrypts_with_a_bucket_key() -> None:
    """SSE-KMS with the given key, and one data key per bucket (fewer KMS calls, fewer throttles)."""
    rule = data_bucket(template(kms_key=True))["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "KMSMasterKeyID" in rule["ServerSideEncryptionByDefault"] and rule["BucketKeyEnabled"] is True


def test_public_access_is_blocked_and_acls_are_off(retained: dict[str, Any]) -> None:
    props = data_bucket(retained)["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_requests_without_tls_1_2_are_denied(retained: dict[str, Any]) -> None:
    """The bucket policy denies plain HTTP and TLS older than 1.2, for every principal."""
    denies = [
        s for s in data_policy(retained)["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    conditions = [s["Condition"] for s in denies]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
    assert all(s["Principal"] == {"AWS": "*"} and s["Action"] == "s3:*" for s in denies)


def test_versioned_and_access_logged(retained: dict[str, Any]) -> None:
    props = data_bucket(retained)["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "data/"


def test_retained_when_the_stack_is_deleted(retained: dict[str, Any]) -> None:
    """Data survives `cdk destroy` unless the caller asks for DESTROY."""
    bucket = data_bucket(retained)
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert not [r for r in retained.values() if r["Type"] == "Custom::S3AutoDeleteObjects"]


def test_destroy_empties_the_bucket_with_explicit_actions_only() -> None:
    """DESTROY adds CDK's auto-delete custom resource; its bucket-policy grant names the actions its
    handler calls instead of CDK's wildcards, so no policy of the app allows a wildcard action."""
    resources = template(destroy=True)
    assert data_bucket(resources)["DeletionPolicy"] == "Delete"
    assert [r for r in resources.values() if r["Type"] == "Custom::S3AutoDeleteObjects"]
    allows = [s for _, s in statements({"Resources": resources}) if s.get("Effect") == "Allow"]
    granted = [a for s in allows for a in actions_of(s)]
    assert set(AUTO_DELETE_EXPLICIT_ACTIONS) <= set(granted)
    assert not [a for a in granted if "*" in a]
