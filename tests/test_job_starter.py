"""The job starter's lifecycle through botocore Stubbers on real clients (requests checked against the
real service models), with the reward Lambda's replies produced by the real reward handler."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from botocore.validate import validate_parameters

from job_starter import handler
from job_starter.handler import Clients, JobStartError, is_role_propagation_error, on_event
from job_starter.job_name import job_name_for
from job_starter.job_request import PropertiesError, build_create_request, parse_properties
from job_starter.preflight import DatasetRow, PreflightError, build_event
from job_starter.request_model import check_request

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIN_URI = "s3://nova-rft-data-datasetbucket-1a2b3c/datasets/0123456789abcdef/train.jsonl"
VALIDATION_URI = "s3://nova-rft-data-datasetbucket-1a2b3c/datasets/fedcba9876543210/validation.jsonl"
OUTPUT_URI = "s3://nova-rft-data-outputbucket-4d5e6f/output/"
REWARD_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nova-rft-reward-RewardFunction-AbC123:3"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/nova-rft-training-JobRole-XyZ789"
TEMPLATE = "Working through the problem step by step gives the result.\n#### {final_answer}"
HYPERPARAMETERS = {
    "batchSize": 64,
    "epochCount": 2,
    "evalInterval": 10,
    "inferenceMaxTokens": 8192,
    "learningRate": 1e-05,
    "maxPromptLength": 4096,
    "reasoningEffort": "high",
    "trainingSamplePerPrompt": 4,
}
PROPS = {
    "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nova-rft-training-Provider",
    "RoleArn": ROLE_ARN,
    "BaseModelIdentifier": "amazon.nova-2-lite-v1:0:256k",
    "TrainingDataS3Uri": TRAIN_URI,
    "ValidationDataS3Uri": VALIDATION_URI,
    "OutputDataS3Uri": OUTPUT_URI,
    "RewardFunctionArn": REWARD_ARN,
    "HyperParameters": json.dumps(HYPERPARAMETERS, sort_keys=True),
    "CustomModelKmsKeyId": "",
    "SpecSha256": "5f" * 32,
    "NamePrefix": "nova-rft",
    "PreflightRows": "3",
    "ControlTemplate": TEMPLATE,
    "Tags": json.dumps([{"key": "project", "value": "nova-rft-kit"}]),
}
JOB_ARN = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-2-lite-v1:0:256k/a1b2c3d4e5f6"
)
NEW_JOB_ARN = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-2-lite-v1:0:256k/f6e5d4c3b2a1"
)


def dataset_rows(count: int = 5) -> list[dict]:
    """GSM8K-style rows in the Nova RFT format (docs/contract.md section 2)."""
    rows = []
    for i in range(count):
        apples, more = 3 + i, 4 + 2 * i
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a careful math tutor."},
                    {
                        "role": "user",
                        "content": f"Ann has {apples} apples and buys {more} more. How many apples does she "
                        "have? Give the final answer as: #### <answer>",
                    },
                ],
                "reference_answer": {"final_answer": str(apples + more)},
                "task_id": f"test-{i:04d}",
                "domain": "math",
            }
        )
    return rows


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def streaming(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def deployed_reply(event: list[dict]) -> list[dict]:
    """The real grader's reply: what the reward handler answers with the shipped GSM8K spec bundled."""
    from reward.grading import grade_event
    from reward.spec import load_spec

    return grade_event(load_spec(ROOT / "reward_specs" / "gsm8k.toml"), json.loads(json.dumps(event)))


# One session for the module: it caches the service models, so each test's fresh clients are cheap.
SESSION = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def client(service: str):
    return SESSION.client(service)


class Fakes:
    """Real clients with Stubbers: every call must be queued, and is validated against the model."""

    def __init__(self) -> None:
        self.clients = Clients(s3=client("s3"), lambda_=client("lambda"), bedrock=client("bedrock"))
        self.s3 = Stubber(self.clients.s3)
        self.lambda_ = Stubber(self.clients.lambda_)
        self.bedrock = Stubber(self.clients.bedrock)
        self.sleeps: list[float] = []
        for stubber in (self.s3, self.lambda_, self.bedrock):
            stubber.activate()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def run(self, event: dict) -> dict:
        return on_event(event, None, clients=self.clients, sleep=self.sleep)

    def expect_rows(self, rows: list[dict], uri: str = TRAIN_URI) -> None:
        bucket, key = uri[len("s3://") :].split("/", 1)
        self.s3.add_response(
            "get_object", {"Body": streaming(jsonl(rows))}, expected_params={"Bucket": bucket, "Key": key}
        )

    def expect_invoke(self, payload: bytes, *, function_error: str | None = None, sent: bytes | None = None):
        response = {"StatusCode": 200, "Payload": streaming(payload)}
        if function_error:
            response["FunctionError"] = function_error
        self.lambda_.add_response(
            "invoke",
            response,
            expected_params={
                "FunctionName": REWARD_ARN,
                "InvocationType": "RequestResponse",
                "Payload": sent if sent is not None else ANY,
            },
        )

    def expect_grading(self, rows: list[dict], count: int) -> None:
        """The reward Lambda answers the exact preflight event with the real handler's reply."""
        event, _ = build_event([DatasetRow(i + 1, row) for i, row in enumerate(rows[:count])], TEMPLATE)
        reply = deployed_reply(event)
        self.expect_invoke(json.dumps(reply).encode(), sent=json.dumps(event).encode())

    def expect_create(self, props: dict, job_arn: str = JOB_ARN) -> None:
        request = build_create_request(parse_properties(props), job_name_for(props))
        self.bedrock.add_response("create_model_customization_job", {"jobArn": job_arn}, request)

    def expect_get(self, identifier: str, status: str, job_arn: str = JOB_ARN) -> None:
        self.bedrock.add_response(
            "get_model_customization_job",
            job_description(job_arn, status),
            {"jobIdentifier": identifier},
        )

    def verify(self) -> None:
        for stubber in (self.s3, self.lambda_, self.bedrock):
            stubber.assert_no_pending_responses()


def job_description(job_arn: str, status: str) -> dict:
    names = job_name_for(PROPS)
    return {
        "jobArn": job_arn,
        "jobName": names.job_name,
        "outputModelName": names.custom_model_name,
        "roleArn": ROLE_ARN,
        "status": status,
        "creationTime": dt.datetime(2025, 12, 4, tzinfo=dt.UTC),
        "baseModelArn": f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-2-lite-v1:0:256k",
        "trainingDataConfig": {"s3Uri": TRAIN_URI},
        "validationDataConfig": {"validators": [{"s3Uri": VALIDATION_URI}]},
        "outputDataConfig": {"s3Uri": OUTPUT_URI},
    }


@pytest.fixture
def fakes():
    fakes = Fakes()
    yield fakes
    fakes.verify()


def cfn(request_type: str, props: dict = PROPS, **extra) -> dict:
    return {
        "RequestType": request_type,
        "ServiceToken": PROPS["ServiceToken"],
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/nova-rft-training/guid",
        "RequestId": "req-1",
        "LogicalResourceId": "JobStarterJob",
        "ResourceType": "Custom::NovaRftJob",
        "ResourceProperties": props,
        **extra,
    }


def never_make_clients() -> Clients:
    raise AssertionError("no AWS client should be created")


# --- the request ----------------------------------------------------------------------------------


def test_create_request_is_exactly_the_documented_rft_request():
    """The request sent to Bedrock, typed, with a run-derived name and token, and nothing else."""
    names = job_name_for(PROPS)
    request = build_create_request(parse_properties(PROPS), names)
    assert request == {
        "jobName": names.job_name,
        "customModelName": names.custom_model_name,
        "roleArn": ROLE_ARN,
        "clientRequestToken": names.client_request_token,
        "baseModelIdentifier": "amazon.nova-2-lite-v1:0:256k",
        "customizationType": "REINFORCEMENT_FINE_TUNING",
        "trainingDataConfig": {"s3Uri": TRAIN_URI},
        "validationDataConfig": {"validators": [{"s3Uri": VALIDATION_URI}]},
        "outputDataConfig": {"s3Uri": OUTPUT_URI},
        "customizationConfig": {
            "rftConfig": {
                "graderConfig": {"lambdaGrader": {"lambdaArn": REWARD_ARN}},
                "hyperParameters": HYPERPARAMETERS,
            }
        },
        "jobTags": [{"key": "project", "value": "nova-rft-kit"}],
        "customModelTags": [{"key": "project", "value": "nova-rft-kit"}],
    }
    assert names.job_name == f"nova-rft-{names.run_hash}" and len(names.run_hash) == 16
    assert names.custom_model_name == f"nova-rft-model-{names.run_hash}"


def test_create_request_passes_botocore_and_the_extra_checks():
    """Valid for botocore's validator *and* for the max/enum/pattern checks it skips."""
    props = {
        **PROPS,
        "CustomModelKmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
        + "1" * 8
        + "-1111-1111-1111-"
        + "1" * 12,
    }
    request = build_create_request(parse_properties(props), job_name_for(props))
    shape = client("bedrock").meta.service_model.operation_model("CreateModelCustomizationJob").input_shape
    validate_parameters(request, shape)  # raises ParamValidationError on any problem
    assert check_request(request) == []
    assert request["customModelKmsKeyId"].endswith("1" * 12)


def test_hyperparameters_are_coerced_to_the_model_types():
    """CloudFormation may hand numbers over as strings; the API wants typed numbers."""
    props = {
        **PROPS,
        "HyperParameters": json.dumps({"batchSize": "32", "epochCount": 3.0, "learningRate": "2e-5"}),
    }
    hp = parse_properties(props).hyperparameters
    assert hp == {"batchSize": 32, "epochCount": 3, "learningRate": 2e-5}
    assert type(hp["batchSize"]) is int and type(hp["learningRate"]) is float


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"batchSize": 16.5}, "batchSize must be integer 16..512 (a whole number)"),
        ({"batchsize": 16}, "unknown hyperparameter 'batchsize'"),
        ({"epochCount": True}, "epochCount must be integer 1..50"),
    ],
)
def test_bad_hyperparameters_are_named(hyperparameters, message):
    with pytest.raises(PropertiesError, match="HyperParameters") as raised:
        parse_properties({**PROPS, "HyperParameters": json.dumps(hyperparameters)})
    assert message in str(raised.value)


def test_missing_properties_are_listed():
    with pytest.raises(PropertiesError, match="RoleArn, RewardFunctionArn"):
        parse_properties({**PROPS, "RoleArn": "", "RewardFunctionArn": ""})


# --- job names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "TrainingDataS3Uri",
        "ValidationDataS3Uri",
        "OutputDataS3Uri",
        "SpecSha256",
        "RewardFunctionArn",
        "BaseModelIdentifier",
        "HyperParameters",
        "CustomModelKmsKeyId",
        "RoleArn",
    ],
)
def test_every_run_defining_input_changes_the_job_name(key):
    """Changed data, spec, grader version, model, hyperparameters, key or role → a new job."""
    changed = {**PROPS, key: PROPS[key] + "x" if key != "HyperParameters" else json.dumps({"batchSize": 32})}
    assert job_name_for(changed).job_name != job_name_for(PROPS).job_name


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Tags", "[]"),
        ("PreflightRows", "0"),
        ("ControlTemplate", ""),
        ("ServiceToken", "x"),
        ("JudgeModelId", "us.amazon.nova-pro-v1:0"),
        ("RewardReservedConcurrency", "50"),
    ],
)
def test_inputs_that_do_not_define_the_run_keep_the_job_name(key, value):
    """Relabelling or changing the smoke test never starts (and pays for) a second job."""
    assert job_name_for({**PROPS, key: value}) == job_name_for(PROPS)


def test_hyperparameter_formatting_does_not_change_the_job_name():
    reordered = json.dumps(dict(reversed(list(HYPERPARAMETERS.items()))), indent=2)
    assert job_name_for({**PROPS, "HyperParameters": reordered}) == job_name_for(PROPS)


def test_names_fit_the_api_for_awkward_prefixes():
    """customModelName forbids '--' and a trailing hyphen; a 20-char prefix still fits 63 chars."""
    for prefix in ("a-b--c-", "abcdefghij-klmnopqrs"):
        props = {**PROPS, "NamePrefix": prefix}
        names = job_name_for(props)
        assert check_request(build_create_request(parse_properties(props), names)) == []
        assert "--" not in names.custom_model_name


# --- create ---------------------------------------------------------------------------------------


def test_create_preflights_the_grader_then_starts_the_job(fakes):
    """Preflight (S3 rows → real grader) passes, then exactly one CreateModelCustomizationJob."""
    rows = dataset_rows(5)
    fakes.expect_rows(rows)
    fakes.expect_grading(rows, count=3)
    fakes.expect_create(PROPS)
    result = fakes.run(cfn("Create"))
    names = job_name_for(PROPS)
    assert result == {
        "PhysicalResourceId": JOB_ARN,
        "Data": {
            "JobArn": JOB_ARN,
            "JobName": names.job_name,
            "CustomModelName": names.custom_model_name,
            "ConsoleUrl": "https://us-east-1.console.aws.amazon.com/bedrock/home?region=us-east-1#/custom-models",
        },
    }
    assert fakes.sleeps == []


def test_create_without_preflight_rows_skips_the_smoke_test(fakes):
    props = {**PROPS, "PreflightRows": "0"}
    fakes.expect_create(props)
    assert fakes.run(cfn("Create", props))["PhysicalResourceId"] == JOB_ARN


def test_with_a_judge_the_create_reports_its_quota_beside_the_demand(fakes, caplog):
    """The judge quota report (ListServiceQuotas through a Stubber) is logged; the job still starts."""
    props = {
        **PROPS,
        "PreflightRows": "0",
        "JudgeModelId": "us.amazon.nova-pro-v1:0",
        "JudgeCallsPerSample": "2",
        "RewardReservedConcurrency": "100",
    }
    fakes.clients.service_quotas = client("service-quotas")
    quotas = Stubber(fakes.clients.service_quotas)
    quotas.add_response(
        "list_service_quotas",
        {
            "Quotas": [
                {
                    "QuotaName": "Cross-Region InvokeModel requests per minute for Amazon Nova Pro",
                    "Value": 500.0,
                }
            ]
        },
        {"ServiceCode": "bedrock"},
    )
    quotas.activate()
    fakes.expect_create(props)
    with caplog.at_level("INFO", logger="job_starter"):
        assert fakes.run(cfn("Create", props))["PhysicalResourceId"] == JOB_ARN
    quotas.assert_no_pending_responses()
    (line,) = [r.getMessage() for r in caplog.records if "preflight.judge_quota" in r.getMessage()]
    assert "500 requests/min" in line and "12,000 requests/min" in line and "WARNING" in line


def test_retried_create_returns_the_existing_job(fakes):
    """A create retried after a timeout finds its own job by name instead of failing or duplicating."""
    rows = dataset_rows(3)
    fakes.expect_rows(rows)
    fakes.expect_grading(rows, count=3)
    fakes.bedrock.add_client_error(
        "create_model_customization_job", "ConflictException", "A job with this name already exists", 409
    )
    fakes.expect_get(job_name_for(PROPS).job_name, "InProgress")
    assert fakes.run(cfn("Create"))["PhysicalResourceId"] == JOB_ARN


def test_role_propagation_errors_are_retried_without_real_sleeping(fakes):
    """A just-created job role is not assumable for a few seconds: retry, then succeed."""
    props = {**PROPS, "PreflightRows": "0"}
    for _ in range(2):
        fakes.bedrock.add_client_error(
            "create_model_customization_job",
            "ValidationException",
            "Could not assume the provided role. Check the trust relationship of the role.",
            400,
        )
    fakes.expect_create(props)
    assert fakes.run(cfn("Create", props))["PhysicalResourceId"] == JOB_ARN
    assert fakes.sleeps == [2, 4]


def test_role_propagation_retries_give_up_after_about_a_minute(fakes):
    props = {**PROPS, "PreflightRows": "0"}
    for _ in range(len(handler.ROLE_RETRY_DELAYS) + 1):
        fakes.bedrock.add_client_error(
            "create_model_customization_job", "AccessDeniedException", "Bedrock cannot assume role", 403
        )
    with pytest.raises(JobStartError, match="AccessDeniedException") as raised:
        fakes.run(cfn("Create", props))
    assert 50 <= sum(fakes.sleeps) <= 75
    assert "iam:PassRole" in str(raised.value)


def test_other_create_errors_fail_at_once_with_a_hint(fakes):
    props = {**PROPS, "PreflightRows": "0"}
    fakes.bedrock.add_client_error(
        "create_model_customization_job",
        "ServiceQuotaExceededException",
        "Too many jobs in progress",
        400,
    )
    with pytest.raises(JobStartError, match="quota") as raised:
        fakes.run(cfn("Create", props))
    assert fakes.sleeps == []
    assert job_name_for(props).job_name in str(raised.value)


def test_caller_permission_errors_are_not_mistaken_for_role_propagation():
    """The caller's own ARN says 'assumed-role'; that alone must not trigger a minute of retries."""
    from botocore.exceptions import ClientError

    caller = ClientError(
        {
            "Error": {
                "Code": "AccessDeniedException",
                "Message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Starter/fn is not authorized to perform: "
                "bedrock:CreateModelCustomizationJob",
            }
        },
        "CreateModelCustomizationJob",
    )
    propagation = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "Unable to assume role"}},
        "CreateModelCustomizationJob",
    )
    assert not is_role_propagation_error(caller)
    assert is_role_propagation_error(propagation)


def test_invalid_request_fails_before_any_call(fakes):
    """batchSize 8 is reported by name; nothing is read, invoked or created."""
    props = {**PROPS, "HyperParameters": json.dumps({"batchSize": 8})}
    with pytest.raises(JobStartError, match=r"hyperParameters\.batchSize, value: 8, valid min value: 16"):
        fakes.run(cfn("Create", props))


# --- preflight failure stops the deployment before any money is spent ---------------------------


def _reference_reply(rows: list[dict], count: int) -> tuple[list[dict], list[dict]]:
    event, _ = build_event([DatasetRow(i + 1, row) for i, row in enumerate(rows[:count])], TEMPLATE)
    return event, deployed_reply(event)


def _drop_last(event, reply):
    return json.dumps(reply[:-1]).encode()


def _nan_score(event, reply):
    reply[0]["aggregate_reward_score"] = float("nan")
    return json.dumps(reply).encode()  # Python writes NaN, which json.loads reads back


def _bad_above_good(event, reply):
    # A grader that pays for length: the hedged answer is longer than the reference.
    for sent, element in zip(event, reply):
        element["aggregate_reward_score"] = min(1.0, len(sent["messages"][-1]["content"]) / 100)
        element["metrics_list"] = [
            {"name": "length", "value": element["aggregate_reward_score"], "type": "Reward"}
        ]
    return json.dumps(reply).encode()


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_drop_last, ["broke the reward contract", "the reply has 17 elements for 18 samples"]),
        (
            _nan_score,
            ["element 0 (line 1, answer 'reference'): aggregate_reward_score nan is not a finite number"],
        ),
        (_bad_above_good, ["known-bad answer 'hedged' scored", "line 1", "length=", "strictly lower"]),
    ],
)
def test_preflight_failure_starts_no_job_and_says_why(fakes, corrupt, expected):
    """A broken or mis-ranking grader fails the deployment with a readable reason; no job is created."""
    rows = dataset_rows(3)
    event, reply = _reference_reply(rows, 3)
    fakes.expect_rows(rows)
    fakes.expect_invoke(corrupt(event, reply))
    with pytest.raises(PreflightError) as raised:
        fakes.run(cfn("Create"))
    message = str(raised.value)
    for text in expected:
        assert text in message
    assert "Sent: 18 answers for 3 rows (lines 1, 2, 3)" in message
    assert "rft score" in message and "No training job was started" in message
    assert len(message) <= 2400 and message.isascii()


def test_preflight_reports_a_function_error(fakes):
    """A grader that raises (e.g. a broken spec at cold start) is reported with its error."""
    rows = dataset_rows(3)
    fakes.expect_rows(rows)
    error = {
        "errorType": "SpecError",
        "errorMessage": "gsm8k.toml: dimensions[0].grader 'numerik' is unknown",
    }
    fakes.expect_invoke(json.dumps(error).encode(), function_error="Unhandled")
    with pytest.raises(PreflightError) as raised:
        fakes.run(cfn("Create"))
    message = str(raised.value)
    assert "raised SpecError" in message and "'numerik' is unknown" in message
    assert "/aws/lambda/nova-rft-reward-RewardFunction-AbC123" in message


# --- update ---------------------------------------------------------------------------------------


def test_update_with_unchanged_inputs_does_nothing():
    """Same run inputs (only tags and smoke-test settings changed): same job, no AWS client at all."""
    new_props = {**PROPS, "Tags": "[]", "PreflightRows": "8"}
    result = on_event(
        cfn("Update", new_props, PhysicalResourceId=JOB_ARN, OldResourceProperties=PROPS),
        None,
        clients=never_make_clients,
    )
    assert result["PhysicalResourceId"] == JOB_ARN
    assert result["Data"]["JobName"] == job_name_for(PROPS).job_name


def test_update_with_unchanged_inputs_makes_no_api_call(fakes):
    """Stubbers with nothing queued: any call would raise."""
    result = fakes.run(cfn("Update", PROPS, PhysicalResourceId=JOB_ARN, OldResourceProperties=PROPS))
    assert result["PhysicalResourceId"] == JOB_ARN


def test_update_with_changed_inputs_starts_a_new_job(fakes):
    """New hyperparameters → preflight, a new job name and a new physical id (CFN deletes the old)."""
    new_props = {**PROPS, "HyperParameters": json.dumps({**HYPERPARAMETERS, "epochCount": 3})}
    rows = dataset_rows(3)
    fakes.expect_rows(rows)
    fakes.expect_grading(rows, count=3)
    fakes.expect_create(new_props, job_arn=NEW_JOB_ARN)
    result = fakes.run(cfn("Update", new_props, PhysicalResourceId=JOB_ARN, OldResourceProperties=PROPS))
    assert result["PhysicalResourceId"] == NEW_JOB_ARN
    assert result["Data"]["JobName"] == job_name_for(new_props).job_name != job_name_for(PROPS).job_name


# --- delete ---------------------------------------------------------------------------------------


def test_delete_stops_a_running_job(fakes):
    fakes.expect_get(JOB_ARN, "InProgress")
    fakes.bedrock.add_response("stop_model_customization_job", {}, {"jobIdentifier": JOB_ARN})
    assert fakes.run(cfn("Delete", PhysicalResourceId=JOB_ARN)) == {"PhysicalResourceId": JOB_ARN}


@pytest.mark.parametrize("status", ["Completed", "Stopped", "Failed", "Stopping"])
def test_delete_leaves_a_finished_job_alone(fakes, status):
    """Terminal (or already stopping) jobs need nothing; the trained model is never deleted."""
    fakes.expect_get(JOB_ARN, status)
    assert fakes.run(cfn("Delete", PhysicalResourceId=JOB_ARN)) == {"PhysicalResourceId": JOB_ARN}


def test_delete_of_a_missing_job_succeeds(fakes):
    fakes.bedrock.add_client_error(
        "get_model_customization_job", "ResourceNotFoundException", "Job not found", 404
    )
    assert fakes.run(cfn("Delete", PhysicalResourceId=JOB_ARN)) == {"PhysicalResourceId": JOB_ARN}


def test_delete_when_the_job_finishes_between_get_and_stop_succeeds(fakes):
    fakes.expect_get(JOB_ARN, "InProgress")
    fakes.bedrock.add_client_error(
        "stop_model_customization_job", "ValidationException", "Job is not running", 400
    )
    fakes.expect_get(JOB_ARN, "Completed")
    assert fakes.run(cfn("Delete", PhysicalResourceId=JOB_ARN)) == {"PhysicalResourceId": JOB_ARN}


def test_delete_fails_when_a_running_job_cannot_be_stopped(fakes):
    fakes.expect_get(JOB_ARN, "InProgress")
    fakes.bedrock.add_client_error("stop_model_customization_job", "AccessDeniedException", "denied", 403)
    fakes.expect_get(JOB_ARN, "InProgress")
    with pytest.raises(JobStartError, match="bedrock:StopModelCustomizationJob"):
        fakes.run(cfn("Delete", PhysicalResourceId=JOB_ARN))


@pytest.mark.parametrize(
    "physical_id",
    ["nova-rft-training-JobStarterJob-1A2B3C", "", "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"],
)
def test_delete_with_a_non_arn_physical_id_makes_no_call(physical_id):
    """A failed create leaves a marker id: deleting it must succeed without touching AWS."""
    result = on_event(cfn("Delete", PhysicalResourceId=physical_id), None, clients=never_make_clients)
    assert result == {"PhysicalResourceId": physical_id}


@pytest.mark.parametrize(
    "arn",
    [REWARD_ARN.rsplit(":", 1)[0], REWARD_ARN.rsplit(":", 1)[0] + ":$LATEST"],
)
def test_reward_function_must_be_a_published_version(arn):
    """The job pins the grader it was preflighted with; an unqualified ARN would follow later deploys."""
    with pytest.raises(PropertiesError, match="published version ARN"):
        parse_properties({**PROPS, "RewardFunctionArn": arn})


def test_the_starter_imports_only_what_its_bundle_ships():
    """The starter's asset has boto3 and pure-Python reward code only: no grader dependencies."""
    import subprocess
    import sys

    heavy = ("math_verify", "sympy", "jsonschema", "rapidfuzz", "reward.graders", "reward.handler")
    code = (
        f"import sys, job_starter.handler; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT / "lambda_src"
    )
    assert result.stdout.strip() == "[]"
