"""The one Python-function construct every Lambda of the kit is built from, on a bare stack
(`Template.from_stack`): what each function gets, whichever construct owns it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from constructs import Construct

from app import cdk_json_context
from stacks.constructs.local_bundling import LAMBDA_PYTHON_VERSION, LAMBDA_RUNTIME
from stacks.constructs.python_function import PythonFunction
from tests.iam import statements

pytestmark = pytest.mark.slow


class Owner(Construct):
    """A construct that owns one function, as RewardFunction, CodeSandbox and JobStarter do."""

    def __init__(self, scope: Construct, construct_id: str, package: Path, *, with_version: bool) -> None:
        super().__init__(scope, construct_id)
        self.fn = PythonFunction(
            self,
            "Default",
            description="a test function",
            role_description="test: writes its own logs",
            handler="handler_pkg.handler.run",
            packages=[package],
            architecture="arm64",
            memory_mb=256,
            timeout=cdk.Duration.seconds(30),
            log_retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            environment={"MODE": "test"},
        )
        if with_version:
            self.version = self.fn.version


def template(tmp_path: Path, *, with_version: bool = True) -> dict[str, Any]:
    package = tmp_path / "handler_pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def run(event, context):\n    return event\n")
    stack = cdk.Stack(cdk.App(context=cdk_json_context()), "S", env=cdk.Environment(region="us-east-1"))
    Owner(stack, "Owner", package, with_version=with_version)
    return Template.from_stack(stack).to_json()


def only(resources: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    found = [(k, v) for k, v in resources.items() if v["Type"] == type_]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return template(tmp_path_factory.mktemp("fn"))["Resources"]


def test_the_runtime_is_the_one_the_wheels_are_chosen_for(resources: dict[str, Any]) -> None:
    """One runtime for every function, and the bundler picks wheels for its Python."""
    _, function = only(resources, "AWS::Lambda::Function")
    assert function["Properties"]["Runtime"] == LAMBDA_RUNTIME.name == f"python{LAMBDA_PYTHON_VERSION}"
    assert function["Properties"]["Architectures"] == ["arm64"]


def test_the_function_logs_json_to_its_own_log_group_with_retention(resources: dict[str, Any]) -> None:
    """An explicit log group (retention, removal policy) instead of one Lambda creates and keeps forever."""
    group_id, group = only(resources, "AWS::Logs::LogGroup")
    _, function = only(resources, "AWS::Lambda::Function")
    assert group["Properties"]["RetentionInDays"] == 7 and group["DeletionPolicy"] == "Delete"
    logging = function["Properties"]["LoggingConfig"]
    assert logging == {"LogFormat": "JSON", "LogGroup": {"Ref": group_id}}
    assert function["Properties"]["Environment"]["Variables"] == {"MODE": "test", "PYTHONUNBUFFERED": "1"}


def test_the_role_may_write_to_that_log_group_and_nothing_else(resources: dict[str, Any]) -> None:
    """No managed AWSLambdaBasicExecutionRole (every log group in the account), no wildcard."""
    group_id, _ = only(resources, "AWS::Logs::LogGroup")
    _, role = only(resources, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    found = [s for _, s in statements({"Resources": resources}) if s.get("Action") != "sts:AssumeRole"]
    assert found == [
        {
            "Sid": "WriteOwnLogs",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    ]


def test_the_function_waits_for_its_roles_policy(resources: dict[str, Any]) -> None:
    """Created after the policy is attached: its first invocation (or a VPC's interfaces) needs it."""
    policy_id, _ = only(resources, "AWS::IAM::Policy")
    role_id, _ = only(resources, "AWS::IAM::Role")
    _, function = only(resources, "AWS::Lambda::Function")
    assert {policy_id, role_id} <= set(function["DependsOn"])


def test_the_published_version_survives_an_update(resources: dict[str, Any]) -> None:
    """A job pins a version for hours: CloudFormation must not delete it when a new one is published."""
    _, version = only(resources, "AWS::Lambda::Version")
    assert version["DeletionPolicy"] == "Retain" and version["UpdateReplacePolicy"] == "Retain"


def test_no_version_is_published_unless_asked_for(tmp_path: Path) -> None:
    """The job starter is called by its custom resource, not pinned: it publishes nothing."""
    found = template(tmp_path, with_version=False)["Resources"]
    assert [v["Type"] for v in found.values()].count("AWS::Lambda::Version") == 0


def test_created_as_default_its_parts_keep_their_owners_logical_ids(resources: dict[str, Any]) -> None:
    """`Owner/Default/Function` is `OwnerFunction…`, the id the function had when each construct wrote
    it itself: updating a deployed stack changes the function in place instead of replacing it."""
    prefixes = {
        "AWS::Lambda::Function": "OwnerFunction",
        "AWS::Logs::LogGroup": "OwnerLogs",
        "AWS::IAM::Role": "OwnerRole",
        "AWS::IAM::Policy": "OwnerRoleDefaultPolicy",
    }
    for type_, prefix in prefixes.items():
        logical_id, _ = only(resources, type_)
        assert logical_id.startswith(prefix) and "Default" not in logical_id.removeprefix(prefix), logical_id
