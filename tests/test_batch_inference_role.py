"""The batch inference service role (`-c batch_inference=true`): trust, least-privilege permissions, KMS,
outputs, and the cdk-nag gate.

One whole app is synthesized with the role and a customer KMS key (synth runs cdk-nag: it would raise on
any unacknowledged finding); the default app (shared) shows the role is absent unless asked for. The
construct's own options are checked on a small stack, which synthesizes in milliseconds.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks.constructs.batch_inference_role import BatchInferenceRole
from tests.conftest import Apps, SynthesizedApp
from tests.iam import actions_of, resources_of, wildcard_allows

pytestmark = pytest.mark.slow

US = ("us-east-1", "us-east-2", "us-west-2")


@pytest.fixture(scope="module")
def batch_kms(apps: Apps) -> SynthesizedApp:
    """The batch inference role with a customer KMS key (the `everything` variant)."""
    return apps["everything"]


def role_of(app: SynthesizedApp) -> tuple[str, dict[str, Any]]:
    assert app.built.training.batch_role is not None
    logical_id = app.logical_id(app.built.training.batch_role.role)
    return logical_id, app.templates["training"]["Resources"][logical_id]


def statements_of(app: SynthesizedApp) -> dict[str, dict[str, Any]]:
    """Every statement granted to the batch role (its inline policy and the model grant), by Sid."""
    logical_id, role = role_of(app)
    found = {s["Sid"]: s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]}
    for policy in app.resources("training", "AWS::IAM::Policy").values():
        if {"Ref": logical_id} in policy["Properties"].get("Roles", []):
            found.update({s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]})
    return found


def test_the_default_app_has_no_batch_role_and_no_batch_outputs(default_app: SynthesizedApp) -> None:
    """Nothing is added unless -c batch_inference=true."""
    assert default_app.built.training.batch_role is None
    assert not [k for k in default_app.templates["training"].get("Outputs", {}) if k.startswith("Batch")]
    assert "model-invocation-job" not in str(default_app.templates["training"])


def test_trust_is_bedrock_batch_jobs_of_this_account_only(batch_kms: SynthesizedApp) -> None:
    """Confused-deputy protection: only batch inference jobs of this account and region can assume it."""
    _, role = role_of(batch_kms)
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = statement["Condition"]["ArnLike"]["aws:SourceArn"]
    assert "model-invocation-job/*" in str(source) and "us-east-1" in str(source)


def test_the_role_reads_the_input_prefix_writes_the_output_prefix_and_nothing_else(
    batch_kms: SynthesizedApp,
) -> None:
    found = statements_of(batch_kms)
    assert set(found) == {
        "ReadBatchInput",
        "ListBatchInput",
        "WriteBatchOutput",
        "ListBatchOutput",
        "UseDataKeyThroughS3",
        "BatchInferenceProfile",
        "BatchProfileModels",
    }
    assert actions_of(found["ReadBatchInput"]) == ["s3:GetObject"]
    assert "batch-input/*" in str(resources_of(found["ReadBatchInput"]))
    assert sorted(actions_of(found["WriteBatchOutput"])) == ["s3:GetObject", "s3:PutObject"]
    assert "batch-output/*" in str(resources_of(found["WriteBatchOutput"]))
    assert found["ListBatchInput"]["Condition"] == {
        "StringLike": {"s3:prefix": ["batch-input/", "batch-input/*"]}
    }
    assert found["ListBatchOutput"]["Condition"] == {
        "StringLike": {"s3:prefix": ["batch-output/", "batch-output/*"]}
    }
    # No PutObject anywhere on the input side, no write on the dataset objects the job trains on.
    assert "batch-output" not in str(resources_of(found["ReadBatchInput"]))


def test_kms_only_through_s3(batch_kms: SynthesizedApp) -> None:
    kms = statements_of(batch_kms)["UseDataKeyThroughS3"]
    assert sorted(actions_of(kms)) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_the_role_may_invoke_exactly_the_base_models_inference_profile(batch_kms: SynthesizedApp) -> None:
    """Nova 2 Lite's US profile and its three US models through it; no other model."""
    found = statements_of(batch_kms)
    assert actions_of(found["BatchInferenceProfile"]) == ["bedrock:InvokeModel"]
    assert "inference-profile/us.amazon.nova-2-lite-v1:0" in str(resources_of(found["BatchInferenceProfile"]))
    assert sorted(resources_of(found["BatchProfileModels"])) == [
        f"arn:aws:bedrock:{r}::foundation-model/amazon.nova-2-lite-v1:0" for r in US
    ]
    # The models only through this profile (an ARN condition: ArnEquals).
    assert "bedrock:InferenceProfileArn" in found["BatchProfileModels"]["Condition"]["ArnEquals"]


def test_outputs_name_the_role_the_prefixes_the_model_and_the_key(batch_kms: SynthesizedApp) -> None:
    """`rft.batch_inference.batch_target_from_stack` reads exactly these."""
    from rft.batch_inference import INPUT_OUTPUT, KEY_OUTPUT, MODEL_OUTPUT, OUTPUT_OUTPUT, ROLE_OUTPUT

    outputs = batch_kms.templates["training"]["Outputs"]
    assert {ROLE_OUTPUT, INPUT_OUTPUT, OUTPUT_OUTPUT, MODEL_OUTPUT, KEY_OUTPUT} <= set(outputs)
    assert outputs[MODEL_OUTPUT]["Value"] == "us.amazon.nova-2-lite-v1:0"
    assert outputs[ROLE_OUTPUT]["Value"] == {"Fn::GetAtt": [role_of(batch_kms)[0], "Arn"]}
    assert "batch-input/" in str(outputs[INPUT_OUTPUT]["Value"])
    assert "batch-output/" in str(outputs[OUTPUT_OUTPUT]["Value"])


@pytest.mark.parametrize("stack", ["data", "reward", "training"])
def test_no_wildcard_action_with_batch_inference(batch_kms: SynthesizedApp, stack: str) -> None:
    assert wildcard_allows(batch_kms.templates[stack]) == []


def test_cdk_nag_finds_nothing_with_batch_inference(batch_kms: SynthesizedApp) -> None:
    """The synth in the fixture would have raised already; this names what is left if it ever changes."""
    found = []
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(batch_kms.built.app)
        found += [(v.rule_name, r.construct_path) for v in report.violations for r in v.violating_resources]
    assert found == []


# --- the construct on a small stack -----------------------------------------------------------------------


def small_stack(**kwargs: Any) -> tuple[BatchInferenceRole, dict[str, Any]]:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    role = BatchInferenceRole(
        stack,
        "Batch",
        input_bucket=s3.Bucket(stack, "In"),
        output_bucket=s3.Bucket(stack, "Out"),
        model_id="us.amazon.nova-2-lite-v1:0",
        **kwargs,
    )
    return role, Template.from_stack(stack).to_json()


def test_without_a_customer_key_there_is_no_kms_statement() -> None:
    _, template = small_stack()
    assert "kms:" not in str(template)


def test_prefixes_must_be_folders() -> None:
    with pytest.raises(ValueError, match="input_prefix"):
        small_stack(input_prefix="batch-input")
    with pytest.raises(ValueError, match="output_prefix"):
        small_stack(output_prefix="/out/")
