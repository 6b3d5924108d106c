"""`rft invoke`, `rft score --remote` and `rft status` against the real wire formats.

Lambda: a real HTTP server on 127.0.0.1 speaks the Invoke API and answers with the real reward handler;
boto3 (pointed at it with AWS_ENDPOINT_URL_LAMBDA) signs, sends and parses real requests.
CloudFormation and Bedrock: botocore Stubber clients, which validate every request and reply against
the services' models.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from rft.cli import main
from tests.lambda_emulator import FakeLambda, running_lambda

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(ROOT / "data" / "sample" / "train.jsonl")
GSM8K = str(ROOT / "reward_specs" / "gsm8k.toml")
ACCOUNT = "123456789012"
VERSION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nova-rft-reward-Fn-AbC123:7"
JOB_ARN = (
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/amazon.nova-2-lite-v1:0:256k/abc123xyz"
)


@pytest.fixture
def fake_lambda(monkeypatch) -> Iterator[FakeLambda]:
    with running_lambda(GSM8K) as server:  # the function deployed with the gsm8k spec
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield server


class Clients:
    """A client factory: real boto3 clients, the non-Lambda ones wrapped in an activated Stubber."""

    def __init__(self) -> None:
        self.stubbers: dict[str, Stubber] = {}
        self.clients: dict[str, object] = {}

    def stub(self, service: str) -> Stubber:
        client = boto3.client(
            service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        self.clients[service] = client
        self.stubbers[service] = Stubber(client)
        self.stubbers[service].activate()
        return self.stubbers[service]

    def __call__(self, service: str, region: str) -> object:
        assert region == "us-east-1"
        if service == "lambda":
            return boto3.client("lambda", region_name=region)
        return self.clients[service]

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def stack_reply(name: str, outputs: dict[str, str]) -> dict:
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def job_reply(status: str, **extra: object) -> dict:
    phase = "Completed" if status == "Completed" else "InProgress"
    return {
        "jobArn": JOB_ARN,
        "jobName": "nova-rft-3f2a9c",
        "outputModelName": "nova-rft-model-3f2a9c",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/nova-rft-job-role",
        "status": status,
        "creationTime": dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC),
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
        "trainingDataConfig": {"s3Uri": "s3://bucket/datasets/abc/train.jsonl"},
        "validationDataConfig": {"validators": [{"s3Uri": "s3://bucket/datasets/abc/validation.jsonl"}]},
        "outputDataConfig": {"s3Uri": "s3://out/output/"},
        "statusDetails": {
            "validationDetails": {"status": "Completed"},
            "dataProcessingDetails": {"status": "Completed"},
            "trainingDetails": {"status": phase},
        },
        **extra,
    }


# --------------------------------------------------------------------------------------------------
# invoke


def test_invoke_a_function_by_name(fake_lambda, capsys):
    code = main(
        ["invoke", "--function", "my-reward", "--data", TRAIN, "-n", "3", "--spec", GSM8K],
        client_factory=Clients(),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    [request] = fake_lambda.requests
    assert request["function"] == "my-reward"
    assert request["invocation_type"] == "RequestResponse" and request["signed"]
    groups = [e["id"].split(":", 1)[1] for e in request["event"]]
    assert groups[:5] == ["reference", "empty", "master_key", "thought_process", "wrong_number"]
    assert len(request["event"]) == 3 * len(set(groups))
    assert request["event"][0]["messages"][-1]["content"].endswith("#### 1.25")  # the spec's control template
    assert "1:reference                 +1.000  correctness=+1.00 format=+1.00" in out
    assert "OK: 18 replies follow the contract" in out


def test_invoke_reads_the_version_arn_from_the_reward_stack(fake_lambda, capsys):
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks",
        stack_reply("nova-rft-reward", {"RewardFunctionName": "fn", "RewardFunctionVersionArn": VERSION_ARN}),
        {"StackName": "nova-rft-reward"},
    )
    code = main(["invoke", "--stack", "nova-rft", "--data", TRAIN, "-n", "1"], client_factory=clients)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "pass --spec to write them with the spec's control_template" in out
    assert fake_lambda.requests[0]["function"] == VERSION_ARN  # what the RFT job invokes
    clients.assert_done()


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (
            lambda event: (200, {}, json.dumps([{"id": "x", "aggregate_reward_score": 1.0}]).encode()),
            "the reply has 1 elements",
        ),
        (
            lambda event: (
                200,
                {"X-Amz-Function-Error": "Unhandled"},
                b'{"errorType": "KeyError", "errorMessage": "\'messages\'"}',
            ),
            "the function raised KeyError",
        ),
        (
            lambda event: (
                200,
                {},
                json.dumps([{"id": e["id"], "aggregate_reward_score": 7} for e in event]).encode(),
            ),
            "outside [-1.0, 1.0]",
        ),
    ],
)
def test_invoke_fails_on_contract_violations(fake_lambda, capsys, behaviour, message):
    fake_lambda.behaviour = behaviour
    code = main(["invoke", "--function", "f", "--data", TRAIN, "-n", "2"], client_factory=Clients())
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL: the reply breaks the reward contract" in out and message in out


def test_invoke_fails_when_a_bad_answer_outscores_the_reference(fake_lambda, capsys):
    fake_lambda.behaviour = lambda event: (
        200,
        {},
        json.dumps([{"id": e["id"], "aggregate_reward_score": 1.0} for e in event]).encode(),
    )
    code = main(
        ["invoke", "--function", "f", "--data", TRAIN, "-n", "1", "--spec", GSM8K], client_factory=Clients()
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "line 1: empty scores +1.000, reference +1.000" in out


def test_invoke_missing_stack_is_a_clear_error(capsys):
    clients = Clients()
    clients.stub("cloudformation").add_client_error(
        "describe_stacks", "ValidationError", "Stack with id nova-rft-reward does not exist", 400
    )
    code = main(["invoke", "--stack", "nova-rft", "--data", TRAIN], client_factory=clients)
    err = capsys.readouterr().err
    assert code == 1
    assert (
        "DescribeStacks nova-rft-reward: ValidationError: Stack with id nova-rft-reward does not exist" in err
    )


# --------------------------------------------------------------------------------------------------
# score --remote


def test_score_remote_matches_local(fake_lambda, capsys, tmp_path):
    argv = ["score", "--spec", GSM8K, "--data", TRAIN, "--limit", "40", "--batch", "8"]
    assert main([*argv, "--out", str(tmp_path / "local")]) == 0
    code = main(
        [*argv, "--remote", "reward-fn", "--concurrency", "3", "--out", str(tmp_path / "remote")],
        client_factory=Clients(),
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "graded by the deployed function reward-fn" in out
    assert len(fake_lambda.requests) == 5 and all(len(r["event"]) == 8 for r in fake_lambda.requests)
    local = [json.loads(line) for line in (tmp_path / "local" / "scores.jsonl").read_text().splitlines()]
    remote = [json.loads(line) for line in (tmp_path / "remote" / "scores.jsonl").read_text().splitlines()]
    # The reward contract has no place for reasons: only local grading writes them.
    assert all("reasons" in record for record in local) and not any("reasons" in record for record in remote)
    assert remote == [{k: v for k, v in record.items() if k != "reasons"} for record in local]


def test_score_remote_rejects_a_reply_that_breaks_the_contract(fake_lambda, capsys):
    fake_lambda.behaviour = lambda event: (
        200,
        {},
        json.dumps([{"id": "?", "aggregate_reward_score": 0}] * len(event)).encode(),
    )
    code = main(
        ["score", "--spec", GSM8K, "--data", TRAIN, "--limit", "4", "--remote", "f"], client_factory=Clients()
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "breaks the reward contract" in err and "element 0 has id '?', expected '0:1'" in err


# --------------------------------------------------------------------------------------------------
# status


def test_status_of_a_job_by_arn(capsys):
    clients = Clients()
    clients.stub("bedrock").add_response(
        "get_model_customization_job",
        job_reply(
            "Completed",
            outputModelArn=f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/nova-rft-model-3f2a9c",
        ),
        {"jobIdentifier": JOB_ARN},
    )
    code = main(["status", "--job", JOB_ARN], client_factory=clients)
    out = capsys.readouterr().out
    assert code == 0
    assert "status   Completed" in out
    assert "phases   validation: Completed, data processing: Completed, training: Completed" in out
    assert f"model    arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/nova-rft-model-3f2a9c" in out
    assert f"rft report --job {JOB_ARN}" in out and f"rft deploy-model --job {JOB_ARN}" in out  # what next
    clients.assert_done()


def test_status_from_the_training_stack_reports_a_failure(capsys):
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks",
        stack_reply("nova-rft-training", {"JobArn": JOB_ARN}),
        {"StackName": "nova-rft-training"},
    )
    clients.stub("bedrock").add_response(
        "get_model_customization_job",
        job_reply("Failed", failureMessage="Lambda grader returned malformed output"),
        {"jobIdentifier": JOB_ARN},
    )
    code = main(["status", "--stack", "nova-rft"], client_factory=clients)
    out = capsys.readouterr().out
    assert code == 1
    assert "failure  Lambda grader returned malformed output" in out
    clients.assert_done()


def test_status_without_a_started_job_says_how_to_start_one(capsys):
    clients = Clients()
    clients.stub("cloudformation").add_response(
        "describe_stacks",
        stack_reply("nova-rft-training", {"JobRoleArn": "arn:aws:iam::1:role/r"}),
        {"StackName": "nova-rft-training"},
    )
    code = main(["status", "--stack", "nova-rft"], client_factory=clients)
    err = capsys.readouterr().err
    assert code == 1
    assert "no job was started" in err and "-c start_job=true" in err


def test_status_watch_polls_until_a_terminal_state(capsys):
    clients = Clients()
    bedrock = clients.stub("bedrock")
    for status in ("InProgress", "InProgress", "Completed"):
        bedrock.add_response("get_model_customization_job", job_reply(status), {"jobIdentifier": JOB_ARN})
    slept: list[float] = []
    code = main(
        ["status", "--job", JOB_ARN, "--watch", "--interval", "30"],
        client_factory=clients,
        sleep=slept.append,
    )
    out = capsys.readouterr().out
    assert code == 0
    assert slept == [30.0, 30.0]
    assert out.count("status   InProgress") == 1  # unchanged polls print nothing new
    assert out.index("status   InProgress") < out.index("status   Completed")
    clients.assert_done()
