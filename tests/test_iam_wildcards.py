"""No policy anywhere in the app allows a wildcard action (`*`, `s3:*`, `s3:Get*`, ...).

Every policy document of every stack is walked: identity policies, role inline policies, managed
policies, bucket, key, topic and queue policies. A `Deny` may use wildcards (it only takes away), so the
TLS-only bucket statements (`Deny s3:*` without TLS) are fine. The variants cover every optional part:
the job starter, a customer KMS key, auto-deleted buckets and an email subscription.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SynthesizedApp, synthesize

pytestmark = pytest.mark.slow

#: Resource type -> where its policy documents are.
_POLICY_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Role": ("Policies", "AssumeRolePolicyDocument"),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::Events::EventBusPolicy": ("Statement",),
}


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every policy statement in a template."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for key in _POLICY_PATHS.get(resource["Type"], ()):
            value = props.get(key)
            documents = [p["PolicyDocument"] for p in value] if key == "Policies" and value else [value]
            for document in documents:
                if isinstance(document, dict) and "Statement" in document:
                    for statement in document["Statement"]:
                        yield logical_id, statement
                elif key == "Statement" and isinstance(document, dict):
                    yield logical_id, document
        if resource["Type"] == "AWS::Lambda::Permission":
            yield logical_id, {"Effect": "Allow", "Action": props.get("Action")}


def wildcard_allows(template: dict[str, Any]) -> list[str]:
    """Allow statements with a wildcard in an action (or any NotAction, which is worse)."""
    bad = []
    for logical_id, statement in statements(template):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            bad.append(f"{logical_id}: NotAction {statement['NotAction']}")
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        bad += [f"{logical_id}: {a}" for a in actions if not isinstance(a, str) or "*" in a or "?" in a]
    return bad


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """Every optional resource at once."""
    context = {
        "start_job": "true",
        "encryption": "kms",
        "retain_data": "false",
        "notification_email": "ml-team@example.com",
    }
    return synthesize(context, tmp_path_factory.mktemp("everything-cdk.out"))


def test_the_walker_sees_a_wildcard() -> None:
    """The check itself can fail: a statement with s3:Get* is reported, a Deny s3:* is not."""
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": ["s3:Get*", "s3:PutObject"], "Resource": "*"},
                            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
                        ]
                    }
                },
            },
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [{"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*"}]}}]
                },
            },
        }
    }
    assert wildcard_allows(template) == ["P: s3:Get*", "R: *"]


@pytest.mark.parametrize("stack", ["data", "reward", "training"])
def test_no_wildcard_action_in_the_default_app(default_app: SynthesizedApp, stack: str) -> None:
    """The default deployment: data, grader and job role."""
    assert list(statements(default_app.templates[stack])), "walked no statements at all"
    assert wildcard_allows(default_app.templates[stack]) == []


@pytest.mark.parametrize("stack", ["data", "reward", "training"])
def test_no_wildcard_action_with_every_option_on(everything: SynthesizedApp, stack: str) -> None:
    """The job starter, the KMS key, auto-delete and notifications add policies; none with wildcards."""
    assert wildcard_allows(everything.templates[stack]) == []
