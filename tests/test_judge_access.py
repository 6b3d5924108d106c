"""The judge's IAM: `bedrock:InvokeModel` on exactly the judge model when the spec uses the judge, nothing
otherwise (stacks/constructs/judge_access.py).

Two whole apps are synthesized (with cdk-nag, which must stay clean): the default one (gsm8k, no judge;
shared with other modules) and the support spec with the default judge and every optional resource on.
The other id shapes (a model id, an override, a global profile, ARNs) are checked on the construct in a
small stack, which needs no Lambda bundling and synthesizes in milliseconds.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from app import cdk_json_context
from stacks.config import ConfigError, load_config
from stacks.constructs.judge_access import JudgeAccess
from stacks.judge_model import PROFILE_REGIONS, JudgeModelError, resolve_judge_model
from tests.conftest import Apps, SynthesizedApp
from tests.iam import actions_of, resources_of, statements, wildcard_allows

pytestmark = pytest.mark.slow

SUPPORT = {
    "reward_spec": "reward_specs/support_rubric.toml",
    "training_data": "data/support/train.jsonl",
    "validation_data": "data/support/validation.jsonl",
}
ACCOUNT = {"Ref": "AWS::AccountId"}
US = ("us-east-1", "us-east-2", "us-west-2")


def profile_arn(profile: str, region: str = "us-east-1") -> dict[str, Any]:
    """The profile ARN as the template renders it (the account is the stack's AWS::AccountId)."""
    return {"Fn::Join": ["", [f"arn:aws:bedrock:{region}:", ACCOUNT, f":inference-profile/{profile}"]]}


def fm_arns(model: str, regions: tuple[str, ...] = US) -> list[str]:
    return [f"arn:aws:bedrock:{r}::foundation-model/{model}" for r in regions]


#: Actions that run a model (the job starter's bedrock:CreateModelCustomizationJob & co. are not these).
_INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:Converse")


def bedrock_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Allow statement in the template that lets a principal run a model."""
    found = []
    for _, statement in statements(template):
        if any(isinstance(a, str) and a.startswith(_INVOKE_ACTIONS) for a in actions_of(statement)):
            found.append(statement)
    return found


@pytest.fixture(scope="module")
def support(apps: Apps) -> SynthesizedApp:
    """The support spec with the default judge, with the job starter, auto-delete and notifications on."""
    return apps["judge"]


def function_env(app: SynthesizedApp) -> dict[str, str]:
    return app.only("reward", "AWS::Lambda::Function")[1]["Properties"]["Environment"]["Variables"]


# --- the two whole apps -----------------------------------------------------------------------------------


def test_without_a_judge_the_role_has_no_bedrock_action_and_no_judge_env(default_app: SynthesizedApp) -> None:
    """gsm8k uses no judge: nothing is granted, JUDGE_MODEL_ID is unset and there is no output."""
    assert not default_app.built.reward.uses_judge
    for stack in ("data", "reward", "training"):
        assert bedrock_statements(default_app.templates[stack]) == [], stack
    assert "JUDGE_MODEL_ID" not in function_env(default_app)
    assert "JudgeModelId" not in default_app.templates["reward"]["Outputs"]


def test_the_default_judge_gets_exactly_invoke_model_on_the_profile_and_its_us_models(
    support: SynthesizedApp,
) -> None:
    """us.amazon.nova-pro-v1:0: the profile ARN, plus Nova Pro in us-east-1/2 and us-west-2 through it."""
    assert support.built.reward.uses_judge
    found = bedrock_statements(support.templates["reward"])
    assert {a for s in found for a in actions_of(s)} == {"bedrock:InvokeModel"}
    profile = profile_arn("us.amazon.nova-pro-v1:0")
    by_sid = {s["Sid"]: s for s in found}
    assert set(by_sid) == {"JudgeInferenceProfile", "JudgeProfileModels"}
    assert resources_of(by_sid["JudgeInferenceProfile"]) == [profile]
    assert "Condition" not in by_sid["JudgeInferenceProfile"]
    assert sorted(resources_of(by_sid["JudgeProfileModels"])) == fm_arns("amazon.nova-pro-v1:0")
    # The models only through this profile (AWS's example policy for geographic cross-region inference).
    # ArnEquals: an ARN is compared as an ARN (the security scan flagged StringEquals).
    assert by_sid["JudgeProfileModels"]["Condition"] == {
        "ArnEquals": {"bedrock:InferenceProfileArn": profile}
    }


def test_the_judge_policy_is_on_the_reward_role_only(support: SynthesizedApp) -> None:
    """The grant is the reward Lambda's (its role), not the job's or the starter's."""
    role_id = support.logical_id(support.built.reward.function.role)
    policies = [
        p
        for p in support.resources("reward", "AWS::IAM::Policy").values()
        if bedrock_statements({"Resources": {"P": p}})
    ]
    assert len(policies) == 1 and policies[0]["Properties"]["Roles"] == [{"Ref": role_id}]
    for stack in ("data", "training"):
        assert bedrock_statements(support.templates[stack]) == [], stack


def test_judge_model_env_and_output(support: SynthesizedApp) -> None:
    """The Lambda reads the model from JUDGE_MODEL_ID; the stack outputs it."""
    assert function_env(support)["JUDGE_MODEL_ID"] == "us.amazon.nova-pro-v1:0"
    assert support.templates["reward"]["Outputs"]["JudgeModelId"]["Value"] == "us.amazon.nova-pro-v1:0"


@pytest.mark.parametrize("stack", ["data", "reward", "training"])
def test_no_wildcard_action_or_star_resource_with_the_judge_on(support: SynthesizedApp, stack: str) -> None:
    """The judge adds no wildcard action and no Resource "*" (tests/test_iam_wildcards.py's walker)."""
    assert wildcard_allows(support.templates[stack]) == []
    for statement in bedrock_statements(support.templates[stack]):
        for resource in resources_of(statement):
            assert "*" not in str(resource), resource


# --- the construct, on a small stack ---------------------------------------------------------------------


def judge_template(model_id: str, regions: tuple[str, ...] = (), region: str = "us-east-1") -> dict[str, Any]:
    app = cdk.App(context=cdk_json_context())  # the feature flags of cdk.json (partition literals)
    stack = cdk.Stack(app, "S", env=cdk.Environment(region=region))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    JudgeAccess(stack, "Judge", role=role, model_id=model_id, profile_regions=regions)
    return Template.from_stack(stack).to_json()


def test_a_model_id_gets_one_foundation_model_arn_in_the_stack_region() -> None:
    (statement,) = bedrock_statements(judge_template("amazon.nova-lite-v1:0"))
    assert statement["Action"] == "bedrock:InvokeModel"
    assert resources_of(statement) == ["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"]
    assert "Condition" not in statement


def test_judge_profile_regions_override_the_table() -> None:
    """An unknown profile with -c judge_profile_regions: those regions (plus the source region)."""
    found = bedrock_statements(
        judge_template("us.anthropic.claude-3-5-haiku-20241022-v1:0", ("us-west-2", "us-east-2"))
    )
    models = next(s for s in found if s["Sid"] == "JudgeProfileModels")
    assert sorted(resources_of(models)) == fm_arns("anthropic.claude-3-5-haiku-20241022-v1:0")
    # ... and also for a profile the table knows: the override wins.
    found = bedrock_statements(judge_template("us.amazon.nova-pro-v1:0", ("us-east-1",)))
    models = next(s for s in found if s["Sid"] == "JudgeProfileModels")
    assert resources_of(models) == fm_arns("amazon.nova-pro-v1:0", ("us-east-1",))


def test_a_global_profile_gets_the_three_documented_grants() -> None:
    """AWS's three-part policy: the profile here, the model here, the region-less model (unspecified)."""
    found = {s["Sid"]: s for s in bedrock_statements(judge_template("global.amazon.nova-2-lite-v1:0"))}
    profile = profile_arn("global.amazon.nova-2-lite-v1:0")
    assert resources_of(found["JudgeInferenceProfile"]) == [profile]
    assert found["JudgeInferenceProfile"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "us-east-1"}
    }
    assert resources_of(found["JudgeProfileModels"]) == fm_arns("amazon.nova-2-lite-v1:0", ("us-east-1",))
    assert found["JudgeProfileModels"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "us-east-1"},
        "ArnEquals": {"bedrock:InferenceProfileArn": profile},
    }
    assert resources_of(found["JudgeGlobalProfileModel"]) == [
        "arn:aws:bedrock:::foundation-model/amazon.nova-2-lite-v1:0"
    ]
    assert found["JudgeGlobalProfileModel"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": "unspecified"},
        "ArnEquals": {"bedrock:InferenceProfileArn": profile},
    }


def test_a_profile_arn_is_used_verbatim() -> None:
    """IAM compares the resource with the modelId the Lambda sends: keep the given ARN (and account)."""
    arn = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-micro-v1:0"
    found = {s["Sid"]: s for s in bedrock_statements(judge_template(arn))}
    assert resources_of(found["JudgeInferenceProfile"]) == [arn]
    assert sorted(resources_of(found["JudgeProfileModels"])) == fm_arns("amazon.nova-micro-v1:0")
    fm = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
    (statement,) = bedrock_statements(judge_template(fm))
    assert resources_of(statement) == [fm]


# --- resolving ids, and the synth-time errors --------------------------------------------------------------


def test_the_table_covers_the_nova_profiles_and_always_includes_the_source_region() -> None:
    assert PROFILE_REGIONS[("us", "amazon.nova-pro-v1:0")] == US
    judge = resolve_judge_model(
        "eu.amazon.nova-lite-v1:0", region="eu-west-2", profile_regions=("eu-west-1",)
    )
    assert judge.regions == ("eu-west-2", "eu-west-1") and judge.regions_source == "judge_profile_regions"


@pytest.mark.parametrize(
    ("model_id", "message"),
    [
        ("us.meta.llama3-3-70b-instruct-v1:0", "judge_profile_regions"),
        ("eu.amazon.nova-pro-v1:0", "cannot be called from the stack's region 'us-east-1'"),
        (
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3",
            "application inference",
        ),
        ("arn:aws:bedrock:us-west-2:111122223333:inference-profile/us.amazon.nova-pro-v1:0", "us-west-2"),
        ("arn:aws:bedrock:us-east-1:111122223333:inference-profile/us nova", "is not a Bedrock model id"),
    ],
)
def test_ids_that_cannot_be_granted_exactly_are_refused(model_id: str, message: str) -> None:
    with pytest.raises(JudgeModelError, match=message):
        resolve_judge_model(model_id, region="us-east-1")


def load(**context: Any) -> Any:
    return load_config(cdk.App(context={**cdk_json_context(), **context}).node)


def test_an_unknown_profile_stops_synth_naming_judge_profile_regions() -> None:
    """Only when the spec uses the judge; the message names the key and shows a -c flag."""
    with pytest.raises(ConfigError) as caught:
        load(**SUPPORT, judge_model_id="us.meta.llama3-3-70b-instruct-v1:0")
    text = str(caught.value)
    assert "'judge_profile_regions'" in text and "support_rubric.toml" in text
    assert "npx cdk synth -c judge_profile_regions=us-east-1,us-east-2,us-west-2" in text
    config = load(
        **SUPPORT,
        judge_model_id="us.meta.llama3-3-70b-instruct-v1:0",
        judge_profile_regions="us-east-1,us-east-2,us-west-2",
    )
    assert config.judge_profile_regions == US


def test_the_judge_model_is_not_checked_when_the_spec_has_no_judge() -> None:
    """gsm8k: judge_model_id is ignored (nothing is granted), so an unknown profile is no error."""
    assert load(judge_model_id="us.meta.llama3-3-70b-instruct-v1:0").judge_model_id.startswith("us.meta")


def test_an_application_profile_arn_stops_synth_with_the_alternative() -> None:
    with pytest.raises(ConfigError, match=r"judge_model_id=us\.amazon\.nova-pro-v1:0"):
        load(
            **SUPPORT,
            judge_model_id="arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/x1",
        )
