"""Acknowledge cdk-nag findings one at a time, on the narrowest construct, with the reason it is safe.

cdk-nag v3 runs as a CDK validation plugin (`Validations.of(app).add_plugins(...)` in app.py): any finding
that is not acknowledged makes `cdk synth` fail. An acknowledgment applies to the construct it is made on
and everything below it, so always pass the exact resource (a role's `DefaultPolicy`, a function), never a
stack. Rule ids use the *bare* form (`AwsSolutions-IAM5[Action::s3:List*]`, `Serverless-LambdaTracing`):
the `Pack::Rule` form CDK's hint prints did not suppress with aws-cdk-lib 2.275 + cdk-nag 3.0.2
(tests/test_nag.py keeps a canary on this).
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
import constructs


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
