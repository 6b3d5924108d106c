"""The cdk-nag gate: zero unacknowledged findings, and proof that an acknowledgment really suppresses.

cdk-nag v3 is a validation plugin; `Annotations.find_error` no longer sees its findings (a false green),
so the gate is checked with `validate_scope` and with a synth that must not raise.
"""

from __future__ import annotations

from typing import Any

import pytest
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

import stacks.reward_stack
from app import build_app
from stacks.constructs import nag
from tests.conftest import SynthesizedApp

pytestmark = pytest.mark.slow


def findings(app: Any) -> list[tuple[str, str]]:
    """(rule, construct path) of every unacknowledged finding of both packs."""
    found = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(app)
        found += [(v.rule_name, r.construct_path) for v in report.violations for r in v.violating_resources]
    return found


def test_the_default_app_has_no_unacknowledged_finding(default_app: SynthesizedApp) -> None:
    """The same gate `cdk synth` enforces (default_app's synth would have raised already)."""
    assert findings(default_app.built.app) == []


def test_canary_removing_one_acknowledgment_brings_its_finding_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """If CDK or cdk-nag change the acknowledgment id form again, this fails instead of a false green."""
    real = nag.acknowledge

    def all_but_tracing(scope: Any, rule_id: str, reason: str, **kwargs: Any) -> None:
        if rule_id != "Serverless-LambdaTracing":
            real(scope, rule_id, reason, **kwargs)

    monkeypatch.setattr(stacks.reward_stack, "acknowledge", all_but_tracing)
    built = build_app(outdir=str(tmp_path_factory.mktemp("canary-cdk.out")))
    assert findings(built.app) == [
        # The construct path (the logical id leaves the hidden `Default` out: RewardFunction).
        ("Serverless-LambdaTracing", f"{built.reward.stack_name}/Reward/Default/Function/Resource")
    ]
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        built.app.synth()


def test_acknowledge_requires_a_reason_and_narrows_with_details() -> None:
    """An acknowledgment without a real reason is a silent hole in the gate."""
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App(), "s")
    with pytest.raises(ValueError, match="real reason"):
        nag.acknowledge(stack, "AwsSolutions-IAM5", "ok")
    nag.acknowledge(
        stack,
        "AwsSolutions-IAM5",
        "a reason that explains why this is safe",
        applies_to=["Action::s3:List*", "Resource::*"],
    )
