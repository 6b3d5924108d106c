"""Walk the IAM policy statements of a synthesized template.

    statements(template)       # (logical id, statement) of every policy statement, of every kind of policy
    wildcard_allows(template)  # Allow statements with a wildcard action (or a NotAction), as "id: action"
    actions_of(statement)      # its Action as a list (CloudFormation allows a string or a list)
    resources_of(statement)    # its Resource as a list

Shared by tests/test_iam_wildcards.py (no wildcard anywhere) and tests/test_judge_access.py (the judge's grant).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


def actions_of(statement: dict[str, Any]) -> list[Any]:
    """The statement's actions as a list (none when it has no Action)."""
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else actions


def resources_of(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def wildcard_allows(template: dict[str, Any]) -> list[str]:
    """Allow statements with a wildcard in an action (or any NotAction, which is worse)."""
    bad = []
    for logical_id, statement in statements(template):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            bad.append(f"{logical_id}: NotAction {statement['NotAction']}")
        bad += [
            f"{logical_id}: {a}"
            for a in actions_of(statement)
            if not isinstance(a, str) or "*" in a or "?" in a
        ]
    return bad
