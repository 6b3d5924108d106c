"""The deployed code sandbox: a runner Lambda with no route out, no egress, no permissions, invoked by the
reward Lambda on exactly its published version — created only for specs with the `code` grader.

Each test asserts one property of the synthesized reward stack (the `code` variant of tests/conftest.py)
that a security reviewer would check by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Apps, SynthesizedApp
from tests.iam import actions_of, resources_of, statements

pytestmark = pytest.mark.slow

#: Resources that give a VPC a way out (or in): none may exist in the reward stack.
WAYS_OUT = {
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::VPCPeeringConnection",
    "AWS::EC2::TransitGatewayAttachment",
    "AWS::EC2::TransitGatewayVpcAttachment",
    "AWS::EC2::VPNGateway",
    "AWS::EC2::VPNGatewayRoutePropagation",
    "AWS::EC2::CarrierGateway",
    "AWS::EC2::Route",
    "AWS::EC2::LocalGatewayRouteTableVPCAssociation",
    "AWS::Route53Resolver::ResolverEndpoint",
    "AWS::Route53Resolver::ResolverRuleAssociation",
}


@pytest.fixture(scope="module")
def code_app(apps: Apps) -> SynthesizedApp:
    """The app with a code spec and non-default runner settings."""
    return apps["code"]


def runner(app: SynthesizedApp) -> tuple[str, dict[str, Any]]:
    sandbox = app.built.reward.sandbox
    assert sandbox is not None
    logical_id = app.logical_id(sandbox.function)
    return logical_id, app.templates["reward"]["Resources"][logical_id]


def runner_version_id(app: SynthesizedApp) -> str:
    """The runner's published version (CDK appends a code hash to its logical id at synth)."""
    function_id = runner(app)[0]
    versions = [
        vid
        for vid, v in app.resources("reward", "AWS::Lambda::Version").items()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert len(versions) == 1, versions
    return versions[0]


def logical_id(app: SynthesizedApp, construct: Any) -> str:
    return app.logical_id(construct)


def policies_of_role(app: SynthesizedApp, role_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every statement any policy attaches to the role, inline ones included."""
    found = []
    resources = app.templates["reward"]["Resources"]
    for pid, statement in statements(app.templates["reward"]):
        resource = resources[pid]
        attached = resource["Properties"].get("Roles", [])
        if {"Ref": role_id} in attached or (pid == role_id and "Principal" not in statement):
            found.append((pid, statement))
    return found


# --- only for code specs ----------------------------------------------------------------------------------


def test_a_spec_without_the_code_grader_gets_no_vpc_and_no_runner(default_app: SynthesizedApp) -> None:
    """No VPC, no second function, no invoke grant, no CODE_RUNNER_FUNCTION: nothing to pay or review."""
    assert default_app.built.reward.sandbox is None and default_app.built.reward.uses_code is False
    types = {r["Type"] for r in default_app.templates["reward"]["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::EC2::")}
    assert len(default_app.resources("reward", "AWS::Lambda::Function")) == 1
    env = default_app.only("reward", "AWS::Lambda::Function")[1]["Properties"]["Environment"]["Variables"]
    assert "CODE_RUNNER_FUNCTION" not in env
    for _, statement in statements(default_app.templates["reward"]):
        assert "lambda:InvokeFunction" not in actions_of(statement)


def test_a_code_spec_gets_the_vpc_and_the_runner(code_app: SynthesizedApp) -> None:
    assert code_app.built.reward.uses_code is True
    assert len(code_app.resources("reward", "AWS::EC2::VPC")) == 1
    assert len(code_app.resources("reward", "AWS::Lambda::Function")) >= 2


# --- no route out --------------------------------------------------------------------------------------------


def test_the_vpc_has_no_way_out(code_app: SynthesizedApp) -> None:
    """No internet gateway, NAT, endpoint, peering, VPN or route at all (only the implicit local one)."""
    types = {r["Type"] for r in code_app.templates["reward"]["Resources"].values()}
    assert types & WAYS_OUT == set()
    assert code_app.resources("reward", "AWS::EC2::RouteTable"), "the subnets' route tables exist"


def test_the_vpc_answers_no_dns(code_app: SynthesizedApp) -> None:
    """Security groups and NACLs do not filter the Amazon resolver: with DNS on, lookups are a way out."""
    (_, vpc) = code_app.only("reward", "AWS::EC2::VPC")
    assert vpc["Properties"]["EnableDnsSupport"] is False
    assert vpc["Properties"]["EnableDnsHostnames"] is False


def test_subnets_are_isolated_and_hand_out_no_public_addresses(code_app: SynthesizedApp) -> None:
    subnets = code_app.resources("reward", "AWS::EC2::Subnet")
    assert len(subnets) == 2  # two availability zones
    for subnet in subnets.values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"


def test_the_subnets_network_acl_denies_everything(code_app: SynthesizedApp) -> None:
    """A second layer under the security group: an ACL with no entries (only the implicit deny)."""
    (acl_id, _) = code_app.only("reward", "AWS::EC2::NetworkAcl")
    assert code_app.resources("reward", "AWS::EC2::NetworkAclEntry") == {}
    associations = code_app.resources("reward", "AWS::EC2::SubnetNetworkAclAssociation").values()
    subnets = set(code_app.resources("reward", "AWS::EC2::Subnet"))
    assert {a["Properties"]["SubnetId"]["Ref"] for a in associations} == subnets
    assert all(a["Properties"]["NetworkAclId"] == {"Ref": acl_id} for a in associations)


def test_the_default_security_group_is_stripped(code_app: SynthesizedApp) -> None:
    """restrict_default_security_group: CDK's custom resource removes the default group's rules."""
    found = [
        r
        for r in code_app.templates["reward"]["Resources"].values()
        if r["Type"] == "Custom::VpcRestrictDefaultSG"
    ]
    assert len(found) == 1


# --- no egress ------------------------------------------------------------------------------------------------


def test_the_runner_security_group_has_no_egress_and_no_ingress(code_app: SynthesizedApp) -> None:
    """allow_all_outbound=False with no rule: CDK writes its documented placeholder that matches nothing."""
    sandbox = code_app.built.reward.sandbox
    group_id = logical_id(code_app, sandbox.security_group)
    group = code_app.templates["reward"]["Resources"][group_id]["Properties"]
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    assert "SecurityGroupIngress" not in group
    # no separate rule resources either
    assert code_app.resources("reward", "AWS::EC2::SecurityGroupEgress") == {}
    assert code_app.resources("reward", "AWS::EC2::SecurityGroupIngress") == {}


def test_the_runner_runs_in_the_isolated_subnets_with_that_group(code_app: SynthesizedApp) -> None:
    sandbox = code_app.built.reward.sandbox
    (_, function) = runner(code_app)
    vpc_config = function["Properties"]["VpcConfig"]
    assert vpc_config["SecurityGroupIds"] == [
        {"Fn::GetAtt": [logical_id(code_app, sandbox.security_group), "GroupId"]}
    ]
    assert sorted(s["Ref"] for s in vpc_config["SubnetIds"]) == sorted(
        code_app.resources("reward", "AWS::EC2::Subnet")
    )


def test_flow_logs_record_every_attempt_to_reach_out(code_app: SynthesizedApp) -> None:
    """The runner has no legitimate VPC traffic: each flow-log record is a program trying to get out."""
    (_, flow_log) = code_app.only("reward", "AWS::EC2::FlowLog")
    props = flow_log["Properties"]
    assert props["ResourceType"] == "VPC" and props["TrafficType"] == "ALL"
    assert props["ResourceId"] == {"Ref": code_app.only("reward", "AWS::EC2::VPC")[0]}
    assert props["LogDestinationType"] == "cloud-watch-logs"
    group_id = logical_id(code_app, code_app.built.reward.sandbox.flow_log_group)
    assert code_app.templates["reward"]["Resources"][group_id]["Properties"]["RetentionInDays"] == 30


def test_rejected_connection_attempts_are_a_metric_on_the_dashboard(code_app: SynthesizedApp) -> None:
    """Each flow-log REJECT record counts once in SandboxEgressAttempts (the deployment's namespace), and
    the dashboard shows it with the runner's invocations, errors, throttles and duration."""
    (_, metric_filter) = code_app.only("reward", "AWS::Logs::MetricFilter")
    props = metric_filter["Properties"]
    group_id = logical_id(code_app, code_app.built.reward.sandbox.flow_log_group)
    assert props["LogGroupName"] == {"Ref": group_id}
    assert props["FilterPattern"] == (
        "[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, start, "
        'end, action = "REJECT", logstatus]'
    )
    (transformation,) = props["MetricTransformations"]
    assert transformation["MetricName"] == "SandboxEgressAttempts"
    assert transformation["MetricNamespace"] == code_app.built.reward.metrics_namespace
    assert (transformation["MetricValue"], transformation["DefaultValue"]) == ("1", 0)
    (_, dashboard) = code_app.only("reward", "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Code runner: invocations, errors, throttles", "rejected connection attempts"):
        assert title in body
    assert "SandboxEgressAttempts" in body


def test_only_this_accounts_flow_logs_may_use_the_flow_log_role(code_app: SynthesizedApp) -> None:
    """Confused-deputy protection, as the VPC user guide recommends for the flow-logs role."""
    (_, flow_log) = code_app.only("reward", "AWS::EC2::FlowLog")
    role_id = flow_log["Properties"]["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]
    role = code_app.templates["reward"]["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "vpc-flow-log/*" in str(trust["Condition"]["ArnLike"]["aws:SourceArn"])
    group = {"Fn::GetAtt": [logical_id(code_app, code_app.built.reward.sandbox.flow_log_group), "Arn"]}
    for _, statement in policies_of_role(code_app, role_id):
        if not any(a == "iam:PassRole" for a in actions_of(statement)):
            assert resources_of(statement) == [group], statement


# --- no permissions -------------------------------------------------------------------------------------------


def test_the_runner_role_has_no_managed_policy(code_app: SynthesizedApp) -> None:
    """Not AWSLambdaVPCAccessExecutionRole (Resource '*' on every log group and interface)."""
    role_id = logical_id(code_app, code_app.built.reward.sandbox.role)
    role = code_app.templates["reward"]["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def test_the_runner_role_writes_its_own_logs_and_manages_its_interfaces_only(
    code_app: SynthesizedApp,
) -> None:
    """Every permission, listed: logs on its own group; the ENI actions Lambda needs, scoped."""
    sandbox = code_app.built.reward.sandbox
    role_id = logical_id(code_app, sandbox.role)
    granted = policies_of_role(code_app, role_id)
    assert {pid for pid, _ in granted} == {
        logical_id(code_app, sandbox.role.node.find_child("DefaultPolicy"))
    }
    log_group = {"Fn::GetAtt": [logical_id(code_app, sandbox.log_group), "Arn"]}
    by_actions = {tuple(sorted(actions_of(s))): s for _, s in granted}
    assert set(by_actions) == {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("ec2:CreateNetworkInterface",),
        ("ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"),
        ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"),
    }
    assert all(s["Effect"] == "Allow" for _, s in granted)
    assert resources_of(by_actions[("logs:CreateLogStream", "logs:PutLogEvents")]) == [log_group]
    # Only the two Describe actions (no resource-level permissions in EC2) have Resource "*".
    star = [a for a, s in by_actions.items() if "*" in resources_of(s)]
    assert star == [("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")]
    create = resources_of(by_actions[("ec2:CreateNetworkInterface",)])
    rendered = [str(r) for r in create]
    assert sum("network-interface/*" in r for r in rendered) == 1
    subnet_ids = set(code_app.resources("reward", "AWS::EC2::Subnet"))
    assert {i for i in subnet_ids if any(f"'Ref': '{i}'" in r for r in rendered)} == subnet_ids
    group_id = logical_id(code_app, sandbox.security_group)
    assert any(group_id in r and "security-group/" in r for r in rendered)
    assert len(create) == 1 + len(subnet_ids) + 1


def test_the_role_exists_before_the_function_and_outlives_it(code_app: SynthesizedApp) -> None:
    """Lambda creates the network interfaces with the role at creation and removes them after deletion."""
    sandbox = code_app.built.reward.sandbox
    (_, function) = runner(code_app)
    policy_id = logical_id(code_app, sandbox.role.node.find_child("DefaultPolicy"))
    assert policy_id in function["DependsOn"]


# --- the runner function ----------------------------------------------------------------------------------------


def test_the_runner_function_settings_come_from_context(code_app: SynthesizedApp) -> None:
    (_, function) = runner(code_app)
    props = function["Properties"]
    assert props["Handler"] == "code_runner.handler.lambda_handler"
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert (props["MemorySize"], props["Timeout"], props["ReservedConcurrentExecutions"]) == (3008, 90, 25)
    assert props["LoggingConfig"]["LogGroup"] == {
        "Ref": logical_id(code_app, code_app.built.reward.sandbox.log_group)
    }


def test_the_runner_bundle_holds_the_runner_package_only(code_app: SynthesizedApp) -> None:
    """No reward library, no wheels, no byte code: the sandbox ships the runner and nothing else."""
    (_, function) = runner(code_app)
    key = function["Properties"]["Code"]["S3Key"]
    bundle = code_app.outdir / f"asset.{key.removesuffix('.zip')}"
    assert sorted(p.name for p in bundle.iterdir()) == ["code_runner"]
    assert (bundle / "code_runner" / "handler.py").is_file()
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("*.pyc"))


def test_the_reward_bundle_cannot_run_programs_itself(code_app: SynthesizedApp, tmp_path: Path) -> None:
    """The runner package is not in the reward Lambda's bundle: it can only send programs to the sandbox."""
    from stacks.reward_bundle import reward_code_paths

    for name in ("reward", "code_runner", "job_starter", "my_graders"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    assert [p.name for p in reward_code_paths(tmp_path)] == ["my_graders", "reward"]
    reward_function = code_app.templates["reward"]["Resources"][
        logical_id(code_app, code_app.built.reward.function)
    ]
    key = reward_function["Properties"]["Code"]["S3Key"]
    bundle = code_app.outdir / f"asset.{key.removesuffix('.zip')}"
    assert (bundle / "reward").is_dir() and not (bundle / "code_runner").exists()


def test_old_runner_versions_are_retained(code_app: SynthesizedApp) -> None:
    """A running job pins a reward version, which pins a runner version: an update must not delete it."""
    version = code_app.templates["reward"]["Resources"][runner_version_id(code_app)]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["DeletionPolicy"] == "Retain" and version["UpdateReplacePolicy"] == "Retain"
    assert version["Properties"]["FunctionName"] == {"Ref": runner(code_app)[0]}


# --- the reward Lambda's side -------------------------------------------------------------------------------------


def test_the_reward_lambda_may_invoke_exactly_the_runner_version(code_app: SynthesizedApp) -> None:
    """Not the function (every version and $LATEST), not `:*`: the one published version."""
    reward = code_app.built.reward
    version_id = runner_version_id(code_app)
    invoke = [
        (pid, s)
        for pid, s in statements(code_app.templates["reward"])
        if any(a.startswith("lambda:") for a in actions_of(s))
    ]
    assert len(invoke) == 1
    pid, statement = invoke[0]
    assert statement == {
        "Action": "lambda:InvokeFunction",
        "Effect": "Allow",
        "Resource": {"Ref": version_id},
    }
    attached = code_app.templates["reward"]["Resources"][pid]["Properties"]["Roles"]
    assert attached == [{"Ref": logical_id(code_app, reward.function.role)}]


def test_the_reward_lambda_is_told_the_runner_version_and_waits_for_the_grant(
    code_app: SynthesizedApp,
) -> None:
    reward = code_app.built.reward
    function = code_app.templates["reward"]["Resources"][logical_id(code_app, reward.function)]
    env = function["Properties"]["Environment"]["Variables"]
    assert env["CODE_RUNNER_FUNCTION"] == {"Ref": runner_version_id(code_app)}
    invoke_policy = reward.sandbox.node.find_child("InvokePolicy")
    assert logical_id(code_app, invoke_policy) in function["DependsOn"]


def test_outputs_name_the_runner(code_app: SynthesizedApp) -> None:
    outputs = code_app.templates["reward"]["Outputs"]
    assert {"CodeRunnerFunctionName", "CodeRunnerVersionArn", "CodeSandboxVpcId"} <= set(outputs)


# --- the gates: cdk-nag and cfn-lint -------------------------------------------------------------------------------


def test_cdk_nag_has_no_unacknowledged_finding(code_app: SynthesizedApp) -> None:
    """The fixture's synth already ran both packs as a gate; validate_scope double-checks (no false green)."""
    from tests.test_nag import findings

    assert findings(code_app.built.app) == []


def test_cfn_lint_is_clean(code_app: SynthesizedApp) -> None:
    template = code_app.outdir / f"{code_app.built.reward.stack_name}.template.json"
    lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    result = subprocess.run(
        [lint, "--ignore-checks", "W3005", "--", str(template)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
