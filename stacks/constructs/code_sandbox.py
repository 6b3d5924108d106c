"""The code sandbox: a code-runner Lambda with no network and no permissions, for the `code` grader.

The reward Lambda must never run the model's programs itself: they would inherit its credentials (Bedrock,
CloudWatch) and its internet access. It sends them to this function instead (`reward.code_remote`), which
runs them under the limits of `lambda_src/code_runner` (stdlib only, bundled alone). What makes it safe
to run hostile code here, layer by layer:

* **No route out.** A VPC with isolated subnets only: no internet gateway, no NAT gateway, no VPC endpoint,
  a route table with the local route alone. DNS is switched off in the VPC (`enableDnsSupport=false`):
  security groups and network ACLs do not filter traffic to the Amazon-provided resolver (AWS VPC user
  guide), and a resolver that answers is a channel out (DNS exfiltration: a lookup of
  `<secret>.attacker.example` reaches the attacker's name server). The runner needs no DNS — Lambda's
  runtime API and log delivery do not go through the function's network interface.
* **No egress.** The function's security group has no egress rule (CDK writes the documented placeholder
  that matches nothing: ICMP type 252 code 86 to 255.255.255.255/32) and no ingress rule; the subnets'
  network ACL has no entries, so it denies everything in both directions (a second layer if someone
  ever adds a rule to the group). The VPC's default security group is stripped of its rules.
* **No permissions.** Its role may write to its own log group and manage the network interfaces Lambda
  creates for it in this VPC, and nothing else (no managed policy: AWSLambdaVPCAccessExecutionRole allows
  `Resource: *` and every log group). Lambda calls EC2 with the function's role to create and delete the
  interfaces (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC");
  with no network, even those permissions cannot be used from inside.
* **Bounded.** Reserved concurrency caps how many sandboxes run at once (and the bill); the timeout caps
  each invocation; memory is the ceiling of everything a chunk of programs may allocate.
* **Pinned.** The reward Lambda may invoke exactly the published version of this build
  (`grant_invoke`), and invokes it by that version ARN (`CODE_RUNNER_FUNCTION`): a running job keeps the
  runner it started with, so old versions are retained on update.
* **Watched.** VPC flow logs (all traffic) go to a log group: anything in them is a program that tried to
  reach out (the function has no legitimate traffic in the VPC), each a REJECT record.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.constructs.nag import acknowledge, acknowledge_values
from stacks.constructs.python_function import PythonFunction
from stacks.paths import LAMBDA_SRC

#: The runner package: bundled alone (it imports nothing from `reward` and needs no third-party wheel).
CODE_RUNNER_SRC: Path = LAMBDA_SRC / "code_runner"

#: The runner's Lambda handler (fixed interface between the stacks and lambda_src/code_runner).
CODE_RUNNER_HANDLER = "code_runner.handler.lambda_handler"

#: The reward Lambda's environment variable that names the runner (its published version ARN).
CODE_RUNNER_FUNCTION_ENV = "CODE_RUNNER_FUNCTION"

#: The metric (in the deployment's namespace) counting flow-log REJECT records: programs trying to get out.
EGRESS_ATTEMPTS_METRIC = "SandboxEgressAttempts"

#: The CIDR of the sandbox VPC: two /24 isolated subnets are far more addresses than Lambda needs (it
#: shares one network interface per subnet and security group across all execution environments).
VPC_CIDR = "10.191.0.0/22"


class CodeSandbox(Construct):
    """A network-isolated VPC and the code-runner Lambda in it.

    Attributes: `vpc`, `security_group`, `network_acl`, `flow_log_group`, `egress_attempts` (the metric of
    rejected connection attempts), `role`, `log_group`, `function`, `version` (published; the only thing
    `grant_invoke` grants).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        architecture: str,
        memory_mb: int,
        timeout_s: int,
        reserved_concurrency: int,
        removal_policy: cdk.RemovalPolicy,
        metrics_namespace: str,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        source: Path | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._isolated_network()
        self._flow_logs(log_retention, removal_policy, metrics_namespace, log_encryption_key)

        fn = PythonFunction(
            self,
            "Default",
            description="Nova RFT code runner: runs model-written programs with no network",
            role_description="Code runner: writes its own logs; Lambda manages its VPC interfaces with it",
            handler=CODE_RUNNER_HANDLER,
            packages=[source or CODE_RUNNER_SRC],
            architecture=architecture,
            memory_mb=memory_mb,
            timeout=cdk.Duration.seconds(timeout_s),
            reserved_concurrency=reserved_concurrency,
            log_retention=log_retention,
            removal_policy=removal_policy,
            log_encryption_key=log_encryption_key,
            vpc=self.vpc,
            vpc_subnets=self._subnets,
            security_groups=[self.security_group],
        )
        self.log_group, self.role, self.function = fn.log_group, fn.role, fn.function
        # A job pins the reward version, which pins this version. Lambda creates the network interfaces
        # with the role when the function is created: its policy (below) exists first, and outlives the
        # function on delete while Lambda removes them (PythonFunction makes the function depend on it).
        self._grant_network_interfaces()
        self.version: lambda_.IVersion = fn.version
        self._acknowledge()

    def _isolated_network(self) -> None:
        """The VPC (isolated subnets, no DNS), its deny-all network ACL and the runner's security group."""
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=2,
            nat_gateways=0,
            create_internet_gateway=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Sandbox", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            enable_dns_support=False,
            enable_dns_hostnames=False,
            restrict_default_security_group=True,
        )
        self._subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        # No entries: only the implicit rule that denies everything, inbound and outbound.
        self.network_acl = ec2.NetworkAcl(self, "DenyAll", vpc=self.vpc, subnet_selection=self._subnets)
        acknowledge(
            self.network_acl.node.default_child,
            "AwsSolutions-VPC3",
            "VPC3 warns that network ACLs are easy to get wrong and hard to debug. This one has no entries "
            "at all — it denies every packet in and out of the sandbox subnets — and nothing legitimate "
            "flows there: Lambda invokes the runner and ships its logs outside the VPC. It is the second "
            "layer under the security group, for programs that try to reach out.",
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Code runner: no ingress, no egress",
        )

    def _flow_logs(
        self,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        metrics_namespace: str,
        log_encryption_key: kms.IKey | None,
    ) -> None:
        """VPC flow logs (all traffic) to their own log group, and the metric of rejected attempts."""
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention,
            removal_policy=removal_policy,
            encryption_key=log_encryption_key,
        )
        stack = cdk.Stack.of(self)
        # The flow-logs service may assume this role only for flow logs of this account (confused-deputy
        # protection, as in the VPC user guide's example trust policy); CDK adds its log-group grants.
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="ec2", resource="vpc-flow-log", resource_name="*"
                        )
                    },
                },
            ),
            description="VPC flow logs of the code sandbox: writes to their own log group",
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        # Default flow-log records: version account interface src dst srcport dstport protocol packets
        # bytes start end action log-status. Every REJECT is a connection attempt from inside the sandbox.
        logs.MetricFilter(
            self,
            "EgressAttempts",
            log_group=self.flow_log_group,
            filter_pattern=logs.FilterPattern.space_delimited(
                "version",
                "account",
                "eni",
                "source",
                "destination",
                "srcport",
                "destport",
                "protocol",
                "packets",
                "bytes",
                "start",
                "end",
                "action",
                "logstatus",
            ).where_string("action", "=", "REJECT"),
            metric_namespace=metrics_namespace,
            metric_name=EGRESS_ATTEMPTS_METRIC,
            metric_value="1",
            default_value=0,
        )
        #: Flow-log REJECT records per period: programs that tried to reach out (each one was stopped).
        self.egress_attempts = cloudwatch.Metric(
            namespace=metrics_namespace,
            metric_name=EGRESS_ATTEMPTS_METRIC,
            statistic="Sum",
            period=cdk.Duration.minutes(5),
            label="rejected connection attempts",
        )

    def dashboard_widgets(self, *, timeout_s: int) -> list[cloudwatch.IWidget]:
        """A dashboard row for the runner: invocations, errors (programs that broke it) and throttles;
        duration against the timeout; rejected connection attempts from inside the sandbox."""
        period = cdk.Duration.minutes(5)
        fn = self.function
        return [
            cloudwatch.GraphWidget(
                title="Code runner: invocations, errors, throttles",
                left=[
                    fn.metric_invocations(period=period, statistic="Sum"),
                    fn.metric_errors(
                        period=period, statistic="Sum", label="Errors (a program broke the runner)"
                    ),
                    fn.metric_throttles(period=period, statistic="Sum", label="Throttles (retried)"),
                ],
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Code runner: duration p99 vs the timeout",
                left=[fn.metric_duration(period=period, statistic="p99")],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=timeout_s * 1000, label="timeout", color="#d62728")
                ],
                width=8,
                height=6,
            ),
            cloudwatch.GraphWidget(
                title="Code sandbox: rejected connection attempts (flow logs)",
                left=[self.egress_attempts],
                width=8,
                height=6,
            ),
        ]

    def _grant_network_interfaces(self) -> None:
        """The network-interface actions Lambda performs with the function's role (its logs: PythonFunction)."""
        stack = cdk.Stack.of(self)
        subnet_arns = [
            stack.format_arn(service="ec2", resource="subnet", resource_name=s.subnet_id)
            for s in self.vpc.isolated_subnets
        ]
        group_arn = stack.format_arn(
            service="ec2", resource="security-group", resource_name=self.security_group.security_group_id
        )
        #: Interfaces Lambda creates get ids only then: no narrower ARN than this exists beforehand.
        self._interfaces_arn = stack.format_arn(
            service="ec2", resource="network-interface", resource_name="*"
        )
        # CreateNetworkInterface is authorized on the interface, the subnet and the security group: naming
        # ours means the role can create interfaces in this sandbox only.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface"],
                resources=[self._interfaces_arn, *subnet_arns, group_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=[self._interfaces_arn],
            )
        )
        # EC2 Describe* actions support no resource-level permissions: "*" is the only valid resource.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources=["*"]
            )
        )

    def grant_invoke(self, role: iam.IRole) -> iam.Policy:
        """`lambda:InvokeFunction` on exactly the published version — not the function, not `$LATEST`,
        not an older version. Returns the policy (make the grantee's function depend on it)."""
        policy = iam.Policy(
            self,
            "InvokePolicy",
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.version.function_arn])
            ],
        )
        policy.attach_to_role(role)
        return policy

    def _acknowledge(self) -> None:
        function = self.function.node.default_child
        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "The reward Lambda invokes the runner synchronously (RequestResponse) and handles every error "
            "in the reply (retries, splitting a failed chunk); a dead-letter queue only ever receives "
            "failed asynchronous invocations.",
        )
        acknowledge(
            function,
            "Serverless-LambdaTracing",
            "The runner calls no AWS service and has no network: its work is CPU in child processes, "
            "so a trace would show one opaque segment. X-Ray would need xray:PutTraceSegments on "
            "Resource '*', the only wide permission of a role that runs hostile code. Duration, errors "
            "and throttles are in its CloudWatch metrics; per-job verdicts in the reward Lambda's logs.",
        )
        acknowledge_values(
            self.role.node.find_child("DefaultPolicy").node.default_child,
            "AwsSolutions-IAM5",
            "Lambda itself creates and deletes the function's network interfaces with this role (Lambda "
            "developer guide, VPC access). ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support "
            "no resource-level permissions ('*' is the only valid resource), and the interfaces Lambda "
            "creates get their ids only then, so network-interface/* (this account and region) is the "
            "narrowest ARN; creation is further bound to this VPC's subnets and security group. The "
            "function has no network, so these permissions are unusable from inside it.",
            resources=["*", self._interfaces_arn],
        )
        restrict = cdk.Stack.of(self).node.try_find_child(
            "Custom::VpcRestrictDefaultSGCustomResourceProvider"
        )
        if restrict is not None:
            # CDK's own helper that empties the default security group (restrict_default_security_group).
            acknowledge(
                restrict,
                "AwsSolutions-IAM4",
                "CDK's custom resource that removes every rule of the VPC's default security group runs "
                "once per deployment with AWSLambdaBasicExecutionRole (its log group is created by Lambda); "
                "its other permissions are ec2 rule changes on that one default group.",
                applies_to=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                ],
            )
