"""The CreateModelCustomizationJob shape read from botocore, and the checks botocore skips."""

from __future__ import annotations

import copy

import pytest

from job_starter.request_model import Constraint, check_request, constraint, hyperparameter_constraints
from tests.cpu_budget import within_cpu_seconds

HP = ("customizationConfig", "rftConfig", "hyperParameters")
ACCOUNT = "123456789012"


def valid_request() -> dict:
    """A realistic RFT request (the shape docs/contract.md section 3 documents)."""
    return {
        "jobName": "nova-rft-0123456789abcdef",
        "customModelName": "nova-rft-model-0123456789abcdef",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/nova-rft-training-JobRole1234-ABCDEF",
        "clientRequestToken": "nova-rft-" + "ab" * 32,
        "baseModelIdentifier": "amazon.nova-2-lite-v1:0:256k",
        "customizationType": "REINFORCEMENT_FINE_TUNING",
        "trainingDataConfig": {"s3Uri": "s3://nova-rft-data-bucket/datasets/0123456789abcdef/train.jsonl"},
        "validationDataConfig": {
            "validators": [{"s3Uri": "s3://nova-rft-data-bucket/datasets/fedcba9876543210/validation.jsonl"}]
        },
        "outputDataConfig": {"s3Uri": "s3://nova-rft-output-bucket/output/"},
        "customizationConfig": {
            "rftConfig": {
                "graderConfig": {
                    "lambdaGrader": {"lambdaArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:reward-fn:3"}
                },
                "hyperParameters": {
                    "epochCount": 2,
                    "batchSize": 64,
                    "learningRate": 1e-5,
                    "trainingSamplePerPrompt": 4,
                    "maxPromptLength": 4096,
                    "inferenceMaxTokens": 8192,
                    "reasoningEffort": "high",
                    "evalInterval": 10,
                },
            }
        },
        "jobTags": [{"key": "project", "value": "nova-rft-kit"}],
    }


def with_hp(**values) -> dict:
    request = valid_request()
    request["customizationConfig"]["rftConfig"]["hyperParameters"].update(values)
    return request


def test_constraint_reads_ranges_from_the_service_model():
    """batchSize's range comes from botocore, so it cannot drift from the API."""
    assert constraint(*HP, "batchSize") == Constraint("integer", 16, 512, (), None)
    assert constraint(*HP, "learningRate").max == pytest.approx(1e-3)
    assert constraint(*HP, "reasoningEffort").enum == ("low", "medium", "high")


def test_constraint_steps_through_lists_and_names_unknown_members():
    """Paths step into list elements; a typo names the members that do exist."""
    assert constraint("validationDataConfig", "validators", "s3Uri").max == 1024
    assert constraint("jobName").pattern is not None
    with pytest.raises(KeyError, match="graderConfig, hyperParameters"):
        constraint("customizationConfig", "rftConfig", "hyperparameters")


def test_hyperparameter_constraints_cover_every_rft_hyperparameter():
    """The config module builds its context-key checks from this table."""
    rules = hyperparameter_constraints()
    assert set(rules) == {
        "epochCount",
        "batchSize",
        "learningRate",
        "trainingSamplePerPrompt",
        "maxPromptLength",
        "inferenceMaxTokens",
        "reasoningEffort",
        "evalInterval",
    }
    assert rules["epochCount"].describe() == "integer 1..50"
    assert rules["reasoningEffort"].describe() == "one of low, medium, high"


def test_valid_request_has_no_problems():
    """The documented RFT request passes botocore's validator and the extra checks."""
    assert check_request(valid_request()) == []


def test_too_long_job_name_is_caught():
    """botocore skips maximum lengths; a 64-character job name would be rejected by Bedrock."""
    request = valid_request()
    request["jobName"] = "a" * 64
    problems = check_request(request)
    assert len(problems) == 1
    assert "jobName" in problems[0] and "64" in problems[0] and "63" in problems[0]


@pytest.mark.parametrize(("value", "words"), [(8, ["min", "16"]), (600, ["max", "512"])])
def test_batch_size_out_of_range_is_caught(value, words):
    """batchSize 8 (below, botocore) and 600 (above, our check) are both reported with the bound."""
    problems = check_request(with_hp(batchSize=value))
    assert len(problems) == 1
    assert "hyperParameters.batchSize" in problems[0]
    assert all(word in problems[0] for word in words)


def test_reasoning_effort_outside_the_enum_is_caught():
    """botocore skips enums; reasoningEffort 'max' is not a value Bedrock knows."""
    problems = check_request(with_hp(reasoningEffort="max"))
    assert problems == [
        "Invalid value for parameter customizationConfig.rftConfig.hyperParameters.reasoningEffort, "
        "value: 'max', valid values: low, medium, high"
    ]


def test_learning_rate_above_the_maximum_is_caught():
    problems = check_request(with_hp(learningRate=0.01))
    assert len(problems) == 1 and "learningRate" in problems[0] and "0.001" in problems[0]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("customModelName",), "nova--rft"),  # two separators in a row
        (("jobName",), "-starts-with-hyphen"),
        (("roleArn",), "arn:aws:iam::123:role/x"),  # short account id
        (("baseModelIdentifier",), "amazon nova"),
    ],
)
def test_pattern_must_match_the_whole_value(path, value):
    """Patterns are applied with fullmatch: a matching prefix is not enough."""
    request = valid_request()
    request[path[0]] = value
    problems = check_request(request)
    assert len(problems) == 1
    assert path[0] in problems[0] and "pattern" in problems[0]


def test_bad_pattern_deep_in_a_list_is_named_with_its_index():
    request = valid_request()
    request["validationDataConfig"]["validators"][0]["s3Uri"] = "https://example.com/validation.jsonl"
    problems = check_request(request)
    assert len(problems) == 1 and "validationDataConfig.validators[0].s3Uri" in problems[0]


def test_lambda_grader_must_be_a_lambda_arn():
    request = valid_request()
    request["customizationConfig"]["rftConfig"]["graderConfig"]["lambdaGrader"]["lambdaArn"] = "reward-fn"
    assert any("lambdaArn" in p for p in check_request(request))


def test_botocore_errors_are_included():
    """Missing required members, unknown keys and wrong types come from botocore's own validator."""
    request = valid_request()
    del request["roleArn"]
    request["unknownKey"] = 1
    request["customizationConfig"]["rftConfig"]["hyperParameters"]["epochCount"] = "2"
    problems = "\n".join(check_request(request))
    assert "roleArn" in problems and "unknownKey" in problems and "epochCount" in problems


def test_boolean_is_not_accepted_as_a_number():
    """bool is an int subclass, so botocore would send epochCount=True as 1."""
    problems = check_request(with_hp(epochCount=True))
    assert len(problems) == 1 and "boolean" in problems[0]


def test_pathological_job_name_does_not_hang():
    """jobName's service pattern backtracks exponentially on a hyphen run; over-long values skip it."""
    request = valid_request()
    request["jobName"] = "a" + "-" * 80 + "!"
    # A CPU-time budget, not a wall clock: exponential backtracking would need far more than 10 s of CPU.
    problems = within_cpu_seconds(10, check_request, request)
    assert len(problems) == 1 and "max length" in problems[0]


def test_check_request_does_not_modify_the_request():
    request = valid_request()
    before = copy.deepcopy(request)
    check_request(request)
    assert request == before
