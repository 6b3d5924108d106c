"""Notifications: one SNS topic for the RFT job's state changes and the reward Lambda's alarms.

The topic lives in the reward stack, next to the alarms that publish to it; the training stack (which
deploys after the reward stack) adds the EventBridge rule that forwards the job's state changes to it.
Bedrock emits `Model Customization Job State Change` events (source `aws.bedrock`, detail `jobArn`,
`jobStatus`, ...; docs/contract.md §3) when a job starts, completes, fails or stops; the rule matches only
our job's ARN and publishes the whole event, so email (and any later subscriber) gets the job ARN and the
new status.

Who may publish: exactly the job-state rule (EventBridge, `aws:SourceArn` = the rule's ARN; the rule has a
deterministic name, `<prefix>-job-state`, so the reward stack knows its ARN without referring to the
training stack) and exactly the reward alarms (CloudWatch, `aws:SourceArn` = their ARNs and
`aws:SourceAccount`). Every publish must use TLS (`enforce_ssl`).

Encryption: EventBridge and CloudWatch can publish only to a topic whose KMS key policy lets their service
principal use the key, which rules out the AWS-managed `aws/sns` key. With `encryption=kms` the topic gets
its own small customer key (`self.topic_key`), and `allow_job_state_rule`/`allow_alarms` add those
key-policy statements (SNS developer guide, "Enable compatibility between event sources from AWS services
and encrypted topics"). A key of its own because the EventBridge statement cannot carry a condition
(the guide: aws:SourceArn/aws:SourceAccount are not supported there; delivery fails), and such a statement
does not belong on the data key, which protects datasets, job output and the custom model: the topic key
protects only notifications. With `encryption=s3-managed` the project creates no customer managed key at
all (no key cost, nothing to administer), so the topic is not encrypted at rest: it carries only the job's
ARN, name and status and the alarms' names and states, never dataset or model content. Anyone who wants
the topic encrypted deploys with `-c encryption=kms`. (cdk-nag 3's AwsSolutions pack has no
SNS-encryption rule, so this is a documented choice, not an acknowledgment.)
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.constructs.data_key import customer_managed_key
from stacks.constructs.nag import acknowledge

EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"
EVENTS_SERVICE = "events.amazonaws.com"
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
#: What SNS asks KMS for when a service publishes to an encrypted topic (exact: no GenerateDataKey*).
KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def job_state_rule_name(name_prefix: str) -> str:
    """The job-state rule's name: fixed, so the topic policy can name its ARN before the rule exists."""
    return f"{name_prefix}-job-state"


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """Publish the matched event to `topic`, with no implicit grants.

    CDK's `targets.SnsTopic` grants publishing with `topic.grant_publish`, which puts the wildcard action
    `kms:GenerateDataKey*` into the key policy and allows every rule in the account; `Notifications`
    writes both grants itself, exact and scoped to the one rule.
    """

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn, target_resource=self.topic)


class Notifications(Construct):
    """The notification topic (`self.topic`) and its optional email subscription (`self.email_subscription`).

    Nobody may publish until `allow_job_state_rule` / `allow_alarms` say who.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str,
        encrypt: bool = False,
        email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        #: The topic's own customer key when `encrypt` (encryption=kms), else None.
        self.topic_key: kms.Key | None = (
            customer_managed_key(
                self,
                "TopicKey",
                description="Nova RFT Kit: the notification topic (job state changes, reward alarms)",
                # It protects messages in flight only (SNS keeps none once delivered), so it goes with the
                # stack (after KMS's waiting period) instead of costing a dollar a month forever.
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            if encrypt
            else None
        )
        self.topic = sns.Topic(
            self, "Topic", display_name=display_name, master_key=self.topic_key, enforce_ssl=True
        )
        self.email_subscription: sns.Subscription | None = None
        if email:
            self.email_subscription = self.topic.add_subscription(subscriptions.EmailSubscription(email))
            acknowledge(
                self.email_subscription,
                "Serverless-SNSRedrivePolicy",
                "An email subscription only notifies a person of job state changes and alarms; a message SNS "
                "cannot deliver is not worth redriving: the job's state stays available from Bedrock "
                "(GetModelCustomizationJob, the ConsoleUrl output) and the alarms' in CloudWatch.",
            )

    def allow_job_state_rule(self, rule_name: str) -> None:
        """Let the EventBridge rule `rule_name` (default bus, this account and region) publish."""
        stack = cdk.Stack.of(self)
        rule_arn = stack.format_arn(service="events", resource="rule", resource_name=rule_name)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="JobStateRulePublishes",
                principals=[iam.ServicePrincipal(EVENTS_SERVICE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        if self.topic_key is not None:
            # The SNS developer guide: for EventBridge-to-encrypted-topic delivery the key policy must allow
            # the events service principal, and aws:SourceAccount/aws:SourceArn conditions are NOT supported
            # there (delivery fails). `Resource: "*"` in a key policy means this key.
            self._allow_key(
                iam.PolicyStatement(
                    sid="EventBridgePublishesToEncryptedTopics",
                    principals=[iam.ServicePrincipal(EVENTS_SERVICE)],
                    actions=KEY_ACTIONS,
                    resources=["*"],
                ),
                EVENTS_SERVICE,
            )

    def allow_alarms(self, alarm_arns: Sequence[str]) -> None:
        """Let exactly the CloudWatch alarms `alarm_arns` (of this account) publish."""
        stack = cdk.Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="RewardAlarmsPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": list(alarm_arns)},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if self.topic_key is not None:
            # CloudWatch on behalf of this account only (aws:SourceAccount, supported for CloudWatch alarms,
            # unlike EventBridge); the topic policy above pins the exact alarms.
            key_stack = cdk.Stack.of(self.topic_key)
            self._allow_key(
                iam.PolicyStatement(
                    sid="CloudWatchAlarmsPublishToEncryptedTopics",
                    principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                    actions=KEY_ACTIONS,
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": key_stack.account}},
                ),
                CLOUDWATCH_SERVICE,
            )

    def _allow_key(self, statement: iam.PolicyStatement, service: str) -> None:
        assert self.topic_key is not None
        added = self.topic_key.add_to_resource_policy(statement)
        if not added.statement_added:  # cannot happen with a key defined here; guards a future refactor
            raise ValueError(f"could not let {service} use the notification topic's key")


class JobStateRule(Construct):
    """The EventBridge rule (`self.rule`) forwarding the job `job_arn`'s state changes to `topic`.

    `topic`'s policy must let the rule publish (`Notifications.allow_job_state_rule(rule_name)`).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.ITopic, job_arn: str, rule_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            description="Bedrock RFT job state changes -> the notification topic (Nova RFT Kit).",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE], detail_type=[EVENT_DETAIL_TYPE], detail={"jobArn": [job_arn]}
            ),
            targets=[_TopicTarget(topic)],
        )
