"""No policy anywhere in the app allows a wildcard action (`*`, `s3:*`, `s3:Get*`, ...).

Every policy document of every stack is walked: identity policies, role inline policies, managed
policies, bucket, key, topic and queue policies. A `Deny` may use wildcards (it only takes away), so the
TLS-only bucket statements (`Deny s3:*` without TLS) are fine. The variants cover every optional part:
the job starter, the batch inference role, a customer KMS key, auto-deleted buckets, an email subscription
and the code sandbox (runner role, flow-log role, the reward Lambda's invoke grant).
"""

from __future__ import annotations

import pytest

from tests.conftest import Apps, SynthesizedApp
from tests.iam import statements, wildcard_allows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def everything(apps: Apps) -> SynthesizedApp:
    """Every optional resource at once, with a code spec (the sandbox's VPC and runner)."""
    return apps["everything"]


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
    """The job starter, the batch role, the KMS key, auto-delete, notifications and the code sandbox add
    policies; none with wildcards."""
    assert everything.built.reward.sandbox is not None, "the variant must include the code sandbox"
    assert everything.built.training.batch_role is not None, "the variant must include the batch role"
    assert wildcard_allows(everything.templates[stack]) == []
