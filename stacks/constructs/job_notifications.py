"""Job notifications: an SNS topic, and an EventBridge rule that forwards the job's state changes to it.

Bedrock emits `Model Customization Job State Change` events (source `aws.bedrock`, detail `jobArn`,
`jobStatus`, ...; rft-contract.md §3) when a job starts, completes, fails or stops. The rule matches only
our job's ARN and publishes the whole event to the topic, so email (and any later subscriber: alarms, chat,
a Lambda) gets the job ARN and the new status.

Encryption: EventBridge can publish only to a topic whose KMS key policy lets `events.amazonaws.com` use
the key, which rules out the AWS-managed `aws/sns` key. With `encryption=kms` the topic uses the project's
customer key (and `watch_job` adds that key-policy statement). With `encryption=s3-managed` the project
creates no customer managed key at all (no key cost, nothing to administer), so the topic is not encrypted
at rest: it carries only the job's ARN, name and status, never dataset or model content. Anyone who wants
the topic encrypted deploys with `-c encryption=kms`. (cdk-nag 3's AwsSolutions pack has no SNS-encryption
rule, so this is a documented choice, not an acknowledgment.) Every publish must use TLS (`enforce_ssl`).
"""

from __future__ import annotations

import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

EVENT_SOURCE = "aws.bedrock"
EVENT_DETAIL_TYPE = "Model Customization Job State Change"
EVENTS_SERVICE = "events.amazonaws.com"


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """Publish the matched event to `topic`, with no implicit grants.

    CDK's `targets.SnsTopic` grants publishing with `topic.grant_publish`, which puts the wildcard action
    `kms:GenerateDataKey*` into the key policy and allows every rule in the account; `JobNotifications`
    writes both grants itself, exact and scoped to its one rule.
    """

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn, target_resource=self.topic)


class JobNotifications(Construct):
    """The notification topic (`self.topic`) and, once a job exists, the rule that feeds it (`self.rule`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str,
        encryption_key: kms.IKey | None = None,
        email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key = encryption_key
        self.topic = sns.Topic(
            self, "Topic", display_name=display_name, master_key=encryption_key, enforce_ssl=True
        )
        self.email_subscription: sns.Subscription | None = None
        if email:
            self.email_subscription = self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.rule: events.Rule | None = None

    def watch_job(self, job_arn: str) -> events.Rule:
        """Forward every state change of the job `job_arn` to the topic (call once)."""
        if self.rule is not None:
            raise ValueError("JobNotifications already watches a job")
        self.rule = events.Rule(
            self,
            "JobStateChange",
            description="Bedrock RFT job state changes -> the notification topic (Nova RFT Kit).",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE], detail_type=[EVENT_DETAIL_TYPE], detail={"jobArn": [job_arn]}
            ),
            targets=[_TopicTarget(self.topic)],
        )
        # Only this rule may publish (aws:SourceArn), so no other rule in the account can use the topic.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="JobStateChangeRulePublishes",
                principals=[iam.ServicePrincipal(EVENTS_SERVICE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )
        if self.encryption_key is not None:
            # The SNS developer guide: for EventBridge-to-encrypted-topic delivery the key policy must allow
            # the events service principal, and aws:SourceAccount/aws:SourceArn conditions are NOT supported
            # there (delivery fails). `Resource: "*"` in a key policy means this key.
            added = self.encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="EventBridgePublishesToEncryptedTopics",
                    principals=[iam.ServicePrincipal(EVENTS_SERVICE)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                )
            )
            if not added.statement_added:
                raise ValueError(
                    "the notification topic's KMS key is imported, so its key policy cannot be extended to "
                    f"let {EVENTS_SERVICE} publish; use a key defined in this app"
                )
        return self.rule
