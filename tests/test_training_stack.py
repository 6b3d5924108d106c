"""The training stack's template: the job role, the job starter, notifications, outputs and the nag gate.

Each app variant is built and synthesized once (conftest's `synthesize`; synth is slow). Synthesis runs the
cdk-nag plugins registered by `build_app`, so a variant that builds at all has no unacknowledged finding.
Cross-stack values are followed to what the producing stack exports (weak references publish a stack
output), so the assertions name the exact bucket, key, version and key resources.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from app import NovaRftApp
from stacks.constructs.nag import nag_flatten
from stacks.training_stack import START_JOB_HINT
from tests.conftest import Apps, SynthesizedApp

pytestmark = pytest.mark.slow

EMAIL = "ml-team@example.com"
INTERFACE_PROPERTIES = {
    "ServiceToken",
    "RoleArn",
    "BaseModelIdentifier",
    "TrainingDataS3Uri",
    "ValidationDataS3Uri",
    "OutputDataS3Uri",
    "RewardFunctionArn",
    "HyperParameters",
    "CustomModelKmsKeyId",
    "SpecSha256",
    "NamePrefix",
    "PreflightRows",
    "JudgeModelId",  # these three only size the judge quota report (not run-defining)
    "JudgeCallsPerSample",
    "RewardReservedConcurrency",
    "ControlTemplate",
    "Tags",
}


@dataclass
class Variant:
    """One synthesized app (conftest's `SynthesizedApp`), with a renderer for training-template values."""

    app: SynthesizedApp

    @property
    def built(self) -> NovaRftApp:
        return self.app.built

    @property
    def roles(self) -> dict[str, str]:
        """Stack role ("data", "reward", "training") by stack name (cross-stack references name the stack)."""
        built = self.built
        return {
            built.data.stack_name: "data",
            built.reward.stack_name: "reward",
            built.training.stack_name: "training",
        }

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        """Templates by stack name."""
        return {name: self.app.templates[role] for name, role in self.roles.items()}

    @property
    def training(self) -> dict[str, Any]:
        return self.app.templates["training"]

    @property
    def template(self) -> Template:
        return self.app.template("training")

    def resources(self, type_: str, stack: str | None = None) -> dict[str, dict[str, Any]]:
        return self.app.resources(self.roles[stack] if stack else "training", type_)

    def only(self, type_: str, stack: str | None = None) -> tuple[str, dict[str, Any]]:
        return self.app.only(self.roles[stack] if stack else "training", type_)

    def render(self, value: Any, stack: str | None = None) -> str:
        """A template value as text; references read `<stack:LogicalId>` / `<stack:LogicalId.Attr>`."""
        stack = stack or self.built.training.stack_name
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return ",".join(self.render(v, stack) for v in value)
        if "Fn::Join" in value:
            delimiter, parts = value["Fn::Join"]
            return delimiter.join(self.render(p, stack) for p in parts)
        if "Fn::GetStackOutput" in value:
            ref = value["Fn::GetStackOutput"]
            producer = ref["StackName"]
            return self.render(self.templates[producer]["Outputs"][ref["OutputName"]]["Value"], producer)
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return f"<{stack}:{logical}.{attribute}>"
        if "Ref" in value:
            return f"<{value['Ref']}>" if value["Ref"].startswith("AWS::") else f"<{stack}:{value['Ref']}>"
        raise AssertionError(f"unexpected template value {value!r}")

    def ref(self, construct: Any, attribute: str | None = None) -> str:
        """How `render` shows a reference to `construct` (an L2 or L1)."""
        cfn = getattr(construct.node, "default_child", None) or construct
        return f"<{cfn.stack.stack_name}:{self.logical_id(construct)}{'.' + attribute if attribute else ''}>"

    def statements(self, role_logical_id: str) -> dict[str, dict[str, Any]]:
        """The statements of a role's inline policies and of the policies attached to it, by Sid."""
        resources = self.training["Resources"]
        documents = [
            p["PolicyDocument"] for p in resources[role_logical_id]["Properties"].get("Policies", [])
        ]
        documents += [
            r["Properties"]["PolicyDocument"]
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_logical_id} in r["Properties"]["Roles"]
        ]
        return {s["Sid"]: s for d in documents for s in d["Statement"]}

    def logical_id(self, construct: Any) -> str:
        """The logical id as synthesized (with overrides, e.g. a Lambda version's `CurrentVersion<hash>`)."""
        cfn = getattr(construct.node, "default_child", None) or construct
        return cfn.stack.resolve(cfn.logical_id)


@pytest.fixture(scope="module")
def default(default_app: SynthesizedApp) -> Variant:
    """Defaults: no job, S3-managed encryption, no email (conftest's session-wide app)."""
    return Variant(default_app)


@pytest.fixture(scope="module")
def started(apps: Apps) -> Variant:
    """start_job=true with S3-managed encryption and no email."""
    return Variant(apps["started"])


@pytest.fixture(scope="module")
def started_kms(apps: Apps) -> Variant:
    """start_job=true with a customer KMS key and an email subscription."""
    return Variant(apps["started_kms"])


@pytest.fixture(scope="module")
def kms_not_started(apps: Apps) -> Variant:
    """A customer KMS key and an email, but no job."""
    return Variant(apps["kms"])


@pytest.fixture(params=["default", "started", "started_kms", "kms_not_started"])
def variant(request: pytest.FixtureRequest) -> Variant:
    return request.getfixturevalue(request.param)


def job_role_id(v: Variant) -> str:
    return v.logical_id(v.built.training.job_role)


def starter_role_id(v: Variant) -> str:
    return v.logical_id(v.built.training.starter.role)


# --- the job switch -----------------------------------------------------------------------------------


def test_default_synth_starts_no_job(default: Variant) -> None:
    """Starting a job costs money: by default there is no job resource and no starter Lambda."""
    assert not [r for r in default.training["Resources"].values() if r["Type"].startswith("Custom::")]
    assert default.resources("AWS::Lambda::Function") == {}
    assert default.resources("AWS::Events::Rule") == {}
    assert default.built.training.starter is None


def test_default_synth_says_how_to_start_the_job(default: Variant) -> None:
    """Without a job the outputs tell the user the exact command that starts one."""
    outputs = default.training["Outputs"]
    assert outputs["StartJob"]["Value"] == START_JOB_HINT
    assert 'make deploy ARGS="-c start_job=true"' in START_JOB_HINT
    assert "npx cdk deploy --all -c start_job=true" in START_JOB_HINT
    assert not {"JobArn", "JobName", "CustomModelName", "ConsoleUrl"} & set(outputs)


def test_role_and_topic_outputs_exist_in_every_variant(variant: Variant) -> None:
    """The job role (to start a job by hand) and the topic (for alarms) are always there."""
    outputs = variant.training["Outputs"]
    assert variant.render(outputs["JobRoleArn"]["Value"]) == variant.ref(
        variant.built.training.job_role, "Arn"
    )
    assert variant.render(outputs["NotificationTopicArn"]["Value"]) == variant.ref(
        variant.built.training.topic
    )


def test_start_job_adds_exactly_one_job_resource(started: Variant) -> None:
    """One custom resource, served by the Provider framework that fronts the starter Lambda."""
    _, job = started.only("Custom::NovaRftJob")
    framework = started.built.training.starter.provider.node.find_child("framework-onEvent")
    assert started.render(job["Properties"]["ServiceToken"]) == started.ref(framework, "Arn")
    assert "StartJob" not in started.training["Outputs"]


def test_job_outputs_come_from_the_job_resource(started: Variant) -> None:
    """JobArn, JobName, CustomModelName and ConsoleUrl are the custom resource's Data attributes."""
    logical, _ = started.only("Custom::NovaRftJob")
    outputs = started.training["Outputs"]
    for name in ("JobArn", "JobName", "CustomModelName", "ConsoleUrl"):
        assert outputs[name]["Value"] == {"Fn::GetAtt": [logical, name]}


# --- the job resource's properties (interfaces.md) ----------------------------------------------------


def job_properties(v: Variant) -> dict[str, Any]:
    return v.only("Custom::NovaRftJob")[1]["Properties"]


def test_job_resource_has_every_interface_property(started: Variant) -> None:
    """The starter reads exactly the properties interfaces.md lists; a missing one breaks it at deploy."""
    assert set(job_properties(started)) == INTERFACE_PROPERTIES


def test_job_uses_the_job_role_and_base_model(started: Variant) -> None:
    """The job runs as the job role, on the configured base model."""
    props = job_properties(started)
    assert started.render(props["RoleArn"]) == started.ref(started.built.training.job_role, "Arn")
    assert (
        props["BaseModelIdentifier"] == started.built.config.base_model_id == "amazon.nova-2-lite-v1:0:256k"
    )


def test_job_data_uris_are_the_content_addressed_keys(started: Variant) -> None:
    """Training/validation URIs point at the uploaded, content-addressed objects of the dataset bucket."""
    data = started.built.data
    props = job_properties(started)
    bucket = started.ref(data.dataset_bucket)
    assert re.fullmatch(r"datasets/[0-9a-f]{16}/train\.jsonl", data.training_data_key)
    assert re.fullmatch(r"datasets/[0-9a-f]{16}/validation\.jsonl", data.validation_data_key)
    assert started.render(props["TrainingDataS3Uri"]) == f"s3://{bucket}/{data.training_data_key}"
    assert started.render(props["ValidationDataS3Uri"]) == f"s3://{bucket}/{data.validation_data_key}"
    assert started.render(props["OutputDataS3Uri"]) == f"s3://{started.ref(data.output_bucket)}/output/"


def test_job_pins_the_published_reward_version(started: Variant) -> None:
    """The grader ARN is the published version's (qualified) ARN, never the function or $LATEST."""
    rendered = started.render(job_properties(started)["RewardFunctionArn"])
    version = started.built.reward.version
    assert rendered == started.ref(version)
    reward_stack = started.built.reward.stack_name
    logical = rendered.strip("<>").split(":")[1]
    assert started.templates[reward_stack]["Resources"][logical]["Type"] == "AWS::Lambda::Version"
    assert "$LATEST" not in json.dumps(started.training)


def test_job_hyperparameters_are_the_configured_api_names(started: Variant) -> None:
    """Hyperparameters travel as a JSON object keyed by API names (rftConfig.hyperParameters)."""
    props = job_properties(started)
    assert json.loads(props["HyperParameters"]) == dict(started.built.config.hyperparameters)
    assert set(json.loads(props["HyperParameters"])) >= {"epochCount", "batchSize", "learningRate"}


def test_job_carries_the_spec_and_preflight_settings(started: Variant) -> None:
    """The spec hash (changes the job name), its control template and the preflight row count."""
    props = job_properties(started)
    spec = started.built.reward.spec
    assert props["SpecSha256"] == spec.sha256 == hashlib.sha256(spec.path.read_bytes()).hexdigest()
    assert props["ControlTemplate"] == spec.control_template
    assert props["PreflightRows"] == str(started.built.config.preflight_rows)
    assert props["NamePrefix"] == started.built.config.name_prefix


def test_job_tags_are_a_json_list_of_key_value_pairs(started: Variant) -> None:
    """Tags arrive in the jobTags shape the starter passes to Bedrock."""
    tags = json.loads(job_properties(started)["Tags"])
    assert {"key": "project", "value": "nova-rft-kit"} in tags
    assert all(set(tag) == {"key", "value"} for tag in tags)


def test_custom_model_kms_key_only_with_kms(started: Variant, started_kms: Variant) -> None:
    """encryption=kms encrypts the trained model with the customer key; otherwise Bedrock's own key."""
    assert job_properties(started)["CustomModelKmsKeyId"] == ""
    rendered = started_kms.render(job_properties(started_kms)["CustomModelKmsKeyId"])
    assert rendered == started_kms.ref(started_kms.built.data.encryption_key, "Arn")


def test_job_waits_for_the_data_upload(started: Variant) -> None:
    """Preflight reads dataset rows from S3, so the training stack deploys after the data stack."""
    assert started.built.data in started.built.training.dependencies


# --- the job role -------------------------------------------------------------------------------------


def test_job_role_trusts_only_bedrock_jobs_of_this_account(variant: Variant) -> None:
    """Confused-deputy protection: aws:SourceAccount and aws:SourceArn on the Bedrock trust."""
    role = variant.training["Resources"][job_role_id(variant)]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert variant.render(condition["ArnLike"]["aws:SourceArn"]) == (
        "arn:aws:bedrock:us-east-1:<AWS::AccountId>:model-customization-job/*"
    )


def expected_job_role_statements(v: Variant) -> dict[str, tuple[list[str] | str, str]]:
    data, reward = v.built.data, v.built.reward
    datasets = v.ref(data.dataset_bucket, "Arn")
    output = v.ref(data.output_bucket, "Arn")
    return {
        "ReadTrainingData": (
            "s3:GetObject",
            ",".join(f"{datasets}/{k}" for k in (data.validation_data_key, data.training_data_key)),
        ),
        "ListDatasetBucket": ("s3:ListBucket", datasets),
        "WriteJobOutput": (["s3:GetObject", "s3:PutObject"], f"{output}/output/*"),
        "ListOutputBucket": ("s3:ListBucket", output),
        "InvokeRewardFunctionVersion": ("lambda:InvokeFunction", v.ref(reward.version)),
    }


def test_job_role_grants_exactly_data_output_and_reward_version(started: Variant) -> None:
    """Read the two dataset objects, write under output/, invoke the pinned version; nothing else."""
    statements = started.statements(job_role_id(started))
    actual = {sid: (s["Action"], started.render(s["Resource"])) for sid, s in statements.items()}
    assert actual == expected_job_role_statements(started)
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements.values())


def test_job_role_is_the_same_without_a_job(default: Variant, started: Variant) -> None:
    """Users can start the job by hand with the role: it must not depend on start_job."""
    assert default.statements(job_role_id(default)) == started.statements(job_role_id(started))


def test_job_role_uses_the_customer_key_only_with_kms(started_kms: Variant) -> None:
    """With encryption=kms: S3 encryption through S3, and the custom-model grant through Bedrock."""
    v = started_kms
    statements = v.statements(job_role_id(v))
    key = v.ref(v.built.data.encryption_key, "Arn")
    non_kms = {sid: s for sid, s in statements.items() if not sid.startswith(("UseDataKey", "Encrypt"))}
    assert {sid: (s["Action"], v.render(s["Resource"])) for sid, s in non_kms.items()} == (
        expected_job_role_statements(v)
    )
    s3_use = statements["UseDataKeyThroughS3"]
    assert sorted(s3_use["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    assert v.render(s3_use["Resource"]) == key
    assert s3_use["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    model = statements["EncryptCustomModel"]
    assert sorted(model["Action"]) == [
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
    ]
    assert v.render(model["Resource"]) == key
    assert model["Condition"] == {"StringEquals": {"kms:ViaService": "bedrock.us-east-1.amazonaws.com"}}


def test_no_kms_statement_without_kms(started: Variant) -> None:
    """With S3-managed encryption no role gets any KMS permission."""
    policies = json.dumps([r["Properties"] for r in started.resources("AWS::IAM::Role").values()])
    assert '"kms:' not in policies


# --- the job starter ----------------------------------------------------------------------------------


def test_starter_role_actions(started: Variant) -> None:
    """Logs, the preflight rows, the reward version, the job APIs, and passing only the job role."""
    v = started
    statements = v.statements(starter_role_id(v))
    starter = v.built.training.starter
    data = v.built.data
    actual = {sid: (s["Action"], v.render(s["Resource"])) for sid, s in statements.items()}
    jobs = "arn:aws:bedrock:us-east-1:<AWS::AccountId>:model-customization-job/*"
    assert actual == {
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], v.ref(starter.log_group, "Arn")),
        "ReadPreflightRows": (
            "s3:GetObject",
            f"{v.ref(data.dataset_bucket, 'Arn')}/{data.training_data_key}",
        ),
        "PreflightRewardFunctionVersion": ("lambda:InvokeFunction", v.ref(v.built.reward.version)),
        "CreateTrainingJob": (
            "bedrock:CreateModelCustomizationJob",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k,"
            "arn:aws:bedrock:us-east-1:<AWS::AccountId>:custom-model/*",
        ),
        "TagNewTrainingJob": (
            "bedrock:TagResource",
            f"arn:aws:bedrock:us-east-1:<AWS::AccountId>:custom-model/*,{jobs}",
        ),
        "WatchTrainingJob": (["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"], jobs),
        "PassJobRoleToBedrock": ("iam:PassRole", v.ref(v.built.training.job_role, "Arn")),
    }


def test_starter_passes_the_job_role_only_to_bedrock(started: Variant) -> None:
    """iam:PassRole with iam:PassedToService, so the starter cannot hand the role to another service."""
    statement = started.statements(starter_role_id(started))["PassJobRoleToBedrock"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}


def test_starter_decrypts_and_grants_only_with_kms(started_kms: Variant) -> None:
    """With kms the starter may decrypt the rows it preflights and let Bedrock encrypt the model."""
    v = started_kms
    statements = v.statements(starter_role_id(v))
    key = v.ref(v.built.data.encryption_key, "Arn")
    assert statements["DecryptPreflightRows"]["Action"] == "kms:Decrypt"
    assert v.render(statements["DecryptPreflightRows"]["Resource"]) == key
    assert statements["DecryptPreflightRows"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    assert v.render(statements["EncryptCustomModel"]["Resource"]) == key


def test_starter_function_configuration(started: Variant) -> None:
    """Newest Python runtime, configured architecture, long enough to preflight, its own role and logs."""
    starter = started.built.training.starter
    started.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "job_starter.handler.on_event",
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Timeout": 840,  # under the Provider framework's 900 s, so a timeout still reports
            "MemorySize": Match.any_value(),
            "Role": {"Fn::GetAtt": [starter_role_id(started), "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": started.logical_id(starter.log_group)}},
        },
    )


def test_every_log_group_has_a_retention(started: Variant) -> None:
    """The starter's and the Provider framework's logs expire instead of piling up forever."""
    groups = started.resources("AWS::Logs::LogGroup")
    assert len(groups) == 2
    assert all(g["Properties"].get("RetentionInDays") for g in groups.values())
    functions = started.resources("AWS::Lambda::Function")
    assert len(functions) == 2  # the starter and the Provider framework's onEvent function
    used = {f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()}
    assert used == set(groups)


# --- notifications ------------------------------------------------------------------------------------
# The topic, its policy, its key statements and the email subscription live in the reward stack (with the
# alarms that publish to it): tests/test_dashboard.py pins them. The training stack owns only the rule.


def test_rule_matches_only_this_jobs_state_changes(started: Variant) -> None:
    """The rule forwards Bedrock's state changes of this job only, to the reward stack's topic."""
    job, _ = started.only("Custom::NovaRftJob")
    _, rule = started.only("AWS::Events::Rule")
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.bedrock"],
        "detail-type": ["Model Customization Job State Change"],
        "detail": {"jobArn": [{"Fn::GetAtt": [job, "JobArn"]}]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert started.render(target["Arn"]) == started.ref(started.built.reward.topic)
    assert started.built.training.topic is started.built.reward.topic


def test_rule_has_the_name_the_topic_policy_allows(started: Variant) -> None:
    """The reward stack's topic policy names the rule's ARN from its fixed name: they must agree."""
    _, rule = started.only("AWS::Events::Rule")
    assert rule["Properties"]["Name"] == "nova-rft-job-state"
    assert "EventBusName" not in rule["Properties"]  # the default bus: the ARN is rule/<name>
    reward = started.built.reward.stack_name
    (policy,) = started.resources("AWS::SNS::TopicPolicy", reward).values()
    (allow,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert started.render(allow["Condition"]["ArnEquals"]["aws:SourceArn"], reward) == (
        "arn:aws:events:us-east-1:<AWS::AccountId>:rule/nova-rft-job-state"
    )


def test_training_stack_has_no_topic_of_its_own(variant: Variant) -> None:
    """One topic for the job and the alarms, in the reward stack; the training stack only publishes to it."""
    for type_ in ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription"):
        assert variant.resources(type_) == {}, type_
    variant.only("AWS::SNS::Topic", variant.built.reward.stack_name)


def test_no_job_no_rule_and_no_eventbridge_publisher(kms_not_started: Variant) -> None:
    """Without a job there is no rule, and the topic policy lets no EventBridge rule publish."""
    v = kms_not_started
    assert v.resources("AWS::Events::Rule") == {}
    (policy,) = v.resources("AWS::SNS::TopicPolicy", v.built.reward.stack_name).values()
    principals = [s.get("Principal") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Service": "events.amazonaws.com"} not in principals
    # The topic's own key (reward stack): CloudWatch for the alarms, no EventBridge without a rule.
    (key,) = v.resources("AWS::KMS::Key", v.built.reward.stack_name).values()
    key_principals = [s["Principal"] for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert {"Service": "events.amazonaws.com"} not in key_principals
    assert {"Service": "cloudwatch.amazonaws.com"} in key_principals  # the alarms publish regardless


# --- the security gate --------------------------------------------------------------------------------


def test_no_wildcard_action_in_any_training_policy(variant: Variant) -> None:
    """No IAM statement of the training stack (nor the key policy it extends) has a wildcard action."""
    documents = []
    for resource in variant.training["Resources"].values():
        props = resource["Properties"]
        documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for key in ("PolicyDocument", "AssumeRolePolicyDocument"):
            if key in props:
                documents.append(props[key])
    for resource in variant.resources("AWS::KMS::Key", variant.built.data.stack_name).values():
        documents.append(resource["Properties"]["KeyPolicy"])
    assert documents
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a], statement


def test_nag_finds_nothing_in_the_training_stack(variant: Variant) -> None:
    """Zero unacknowledged AwsSolutions/Serverless findings (the synth in the fixture also enforces it)."""
    for pack in (AwsSolutionsChecks(), ServerlessChecks()):
        report = pack.validate_scope(variant.built.training)
        assert report.success, [
            (v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations
        ]


def test_wildcard_acknowledgments_name_the_exact_resources(started: Variant) -> None:
    """IAM5 is acknowledged per wildcard resource, never for a whole role: a new wildcard still fails."""
    acknowledged = []
    for construct in started.built.training.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                acknowledged += [rule for rule in entry.data if "IAM5" in rule or "IAM4" in rule]
    assert acknowledged
    assert all(re.search(r"AwsSolutions-IAM[45]\[(Resource|Policy)::.+\]$", rule) for rule in acknowledged)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Fn::GetAtt": ["Bucket1", "Arn"]}, "<Bucket1.Arn>"),
        ({"Fn::Join": ["", [{"Fn::GetAtt": ["Fn1", "Arn"]}, ":*"]]}, "<Fn1.Arn>:*"),
        (
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::b/*"]]},
            "arn:<AWS::Partition>:s3:::b/*",
        ),
        (
            {"Fn::GetStackOutput": {"StackName": "d", "OutputName": "O"}},
            '{"Fn::GetStackOutput":{"StackName":"d","OutputName":"O"}}',
        ),
    ],
)
def test_nag_flatten_names_values_like_cdk_nag(value: Any, expected: str) -> None:
    """Acknowledgment ids must match cdk-nag's rendering of a resource exactly."""
    assert nag_flatten(value) == expected


# --- the security scan's findings: each pinned --------------------------------------------


def provider_role_id(v: Variant) -> str:
    return v.logical_id(v.built.training.starter.provider_role)


def test_the_provider_framework_role_writes_only_its_own_log_group(started: Variant) -> None:
    """No AWSLambdaBasicExecutionRole (logs on every log group): its log group, and invoking the starter."""
    v = started
    starter = v.built.training.starter
    framework = starter.provider.node.find_child("framework-onEvent")
    _, function = next(
        (k, r) for k, r in v.resources("AWS::Lambda::Function").items() if k == v.logical_id(framework)
    )
    assert v.render(function["Properties"]["Role"]) == v.ref(starter.provider_role, "Arn")
    role = v.training["Resources"][provider_role_id(v)]["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = [
        s
        for policy in v.resources("AWS::IAM::Policy").values()
        if any(
            v.render(r) == f"<{v.built.training.stack_name}:{provider_role_id(v)}>"
            for r in policy["Properties"]["Roles"]
        )
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {json.dumps(s["Action"]): v.render(s["Resource"]) for s in statements}
    assert actions == {
        json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"]): v.ref(starter.provider_log_group, "Arn"),
        json.dumps("lambda:GetFunction"): v.ref(starter.function, "Arn"),  # the Provider checks its target
        json.dumps(
            "lambda:InvokeFunction"
        ): f"{v.ref(starter.function, 'Arn')},{v.ref(starter.function, 'Arn')}:*",
    }


def test_the_starter_watches_and_stops_only_jobs_this_app_tagged(started: Variant) -> None:
    """Get/Stop on model-customization-job/* only with aws:ResourceTag/nova-rft:prefix = the prefix, and
    the job is created with that tag (the Service Authorization Reference lists aws:ResourceTag for both)."""
    statements = started.statements(starter_role_id(started))
    assert statements["WatchTrainingJob"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/nova-rft:prefix": "nova-rft"}
    }
    _, job = started.only("Custom::NovaRftJob")
    tags = {t["key"]: t["value"] for t in json.loads(job["Properties"]["Tags"])}
    assert tags["nova-rft:prefix"] == "nova-rft"


def test_create_and_tag_are_separate_statements_each_on_its_own_resources(started: Variant) -> None:
    """CreateModelCustomizationJob on the base and custom model; TagResource on the new job and model, both
    only with the app's tag in the request, TagResource only with the app's tag keys."""
    statements = started.statements(starter_role_id(started))
    create, tag = statements["CreateTrainingJob"], statements["TagNewTrainingJob"]
    assert (
        create["Action"] == "bedrock:CreateModelCustomizationJob" and tag["Action"] == "bedrock:TagResource"
    )
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/nova-rft:prefix": "nova-rft"}}
    assert tag["Condition"] == {
        "StringEquals": {"aws:RequestTag/nova-rft:prefix": "nova-rft"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["nova-rft:prefix", "project"]},
    }
    assert "model-customization-job" not in started.render(create["Resource"])


def test_log_groups_use_the_data_key_only_with_kms(started: Variant, started_kms: Variant) -> None:
    """Under encryption=kms every log group of the app is encrypted with the customer key."""
    for v in (started, started_kms):
        groups = {
            (role, logical): group
            for role in ("data", "reward", "training")
            for logical, group in v.app.resources(role, "AWS::Logs::LogGroup").items()
        }
        assert len(groups) == 4  # dataset upload, reward function, job starter, provider framework
        for (role, _), group in groups.items():
            key = group["Properties"].get("KmsKeyId")
            if v is started:
                assert key is None
            else:
                stack = {"data": v.built.data, "reward": v.built.reward, "training": v.built.training}[role]
                assert v.render(key, stack.stack_name) == v.ref(v.built.data.encryption_key, "Arn")


def test_the_data_key_lets_cloudwatch_logs_use_it_for_this_apps_log_groups_only(started_kms: Variant) -> None:
    """The CloudWatch Logs user guide's statement, with the encryption-context condition."""
    v = started_kms
    (key,) = v.app.resources("data", "AWS::KMS::Key").values()
    (logs,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:Encrypt" in logs["Action"] and "kms:Decrypt" in logs["Action"]
    assert all("*" not in action for action in logs["Action"])
    pattern = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert (
        v.render(pattern, v.built.data.stack_name)
        == "arn:aws:logs:us-east-1:<AWS::AccountId>:log-group:nova-rft-*"
    )
    for stack in v.built.stacks:  # CloudFormation names a log group <stack name>-<logical id>-<suffix>
        assert stack.stack_name.startswith("nova-rft-")
