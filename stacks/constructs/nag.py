"""Acknowledge cdk-nag findings one at a time, on the narrowest construct, with the reason it is safe.

cdk-nag v3 runs as a CDK validation plugin (`Validations.of(app).add_plugins(...)` in app.py): any finding
that is not acknowledged makes `cdk synth` fail. An acknowledgment applies to the construct it is made on
and everything below it, so always pass the exact resource (a role's `DefaultPolicy`, a function), never a
stack. Rule ids use the *bare* form (`AwsSolutions-IAM5[Action::s3:List*]`, `Serverless-LambdaTracing`):
the `Pack::Rule` form CDK's hint prints did not suppress with aws-cdk-lib 2.275 + cdk-nag 3.0.2
(tests/test_nag.py keeps a canary on this).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import aws_cdk as cdk
import constructs
import jsii


def acknowledge(
    scope: constructs.IConstruct, rule_id: str, reason: str, *, applies_to: Iterable[str] = ()
) -> None:
    """Acknowledge `rule_id` on `scope` (and its children) because of `reason`.

    `applies_to` narrows a finding with a detail, e.g. `("Resource::<BucketArn>/*",)` for IAM5; each
    becomes `rule_id[detail]`. Without it the whole rule is acknowledged on `scope`.
    """
    if not reason or len(reason) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a real reason (why it is safe), got {reason!r}")
    details = list(applies_to)
    ids = [f"{rule_id}[{detail}]" for detail in details] if details else [rule_id]
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=i, reason=reason) for i in ids))


def nag_flatten(value: Any) -> str:
    """Render a resolved CloudFormation value the way cdk-nag names it in a finding id.

    A port of cdk-nag 3.0.2's `flattenCfnReference`: `{"Fn::GetAtt": [X, "Arn"]}` -> `<X.Arn>`,
    `{"Ref": X}` -> `<X>`, `Fn::Join` concatenated, anything else JSON.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if value.get("Fn::Join"):
            delimiter, items = value["Fn::Join"]
            return delimiter.join(nag_flatten(item) for item in items)
        if value.get("Fn::Sub"):
            return nag_flatten(value["Fn::Sub"])
        if value.get("Fn::GetAtt"):
            resource, attribute = value["Fn::GetAtt"]
            return f"<{nag_flatten(resource)}.{nag_flatten(attribute)}>"
        if value.get("Fn::ImportValue"):
            return nag_flatten(value["Fn::ImportValue"])
        if value.get("Ref"):
            return f"<{nag_flatten(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


@jsii.implements(constructs.IValidation)
class _AcknowledgeOnceResolved:
    """Re-acknowledges a finding whose id embeds a reference, once CDK has finalized the reference.

    cdk-nag names a wildcard resource by its resolved value, and a reference to another stack resolves
    differently before and after CDK wires stacks together (`<Bucket.Arn>` vs `{"Fn::GetStackOutput": ...}`
    with weak cross-stack references). Construct validation runs after that wiring and before the cdk-nag
    plugin, so the acknowledgment made here carries the exact id the plugin will report.
    """

    def __init__(
        self, scope: constructs.Construct, rule_id: str, detail_kind: str, values: Sequence[str], reason: str
    ):
        self.scope = scope
        self.rule_id = rule_id
        self.kind = detail_kind
        self.values = tuple(values)
        self.reason = reason

    def acknowledge(self) -> None:
        stack = cdk.Stack.of(self.scope)
        cdk.Validations.of(self.scope).acknowledge(
            *(
                cdk.Acknowledgment(
                    id=f"{self.rule_id}[{self.kind}::{nag_flatten(stack.resolve(v))}]", reason=self.reason
                )
                for v in self.values
            )
        )

    def validate(self) -> list[str]:
        self.acknowledge()
        return []


def acknowledge_values(
    scope: constructs.Construct,
    rule_id: str,
    reason: str,
    *,
    resources: Sequence[str] = (),
    policies: Sequence[str] = (),
) -> None:
    """Acknowledge `rule_id` on `scope` for exactly these wildcard resources / managed policy ARNs.

    Narrower than acknowledging the whole rule: a wildcard added later to the same role still fails synth.
    Works both for `validate_scope` in tests (acknowledged now) and for a real synth (re-acknowledged
    after cross-stack references are final).
    """
    if len(reason) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a real reason (why it is safe), got {reason!r}")
    for kind, values in (("Resource", resources), ("Policy", policies)):
        if values:
            ack = _AcknowledgeOnceResolved(scope, rule_id, kind, values, reason)
            ack.acknowledge()
            scope.node.add_validation(ack)
