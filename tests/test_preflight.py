"""Preflight against a real HTTP Lambda endpoint on 127.0.0.1 whose replies come from the real reward
handler: boto3 signs, sends and parses real Invoke requests, so this proves the shipped grader passes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from job_starter.preflight import (
    MAX_MESSAGE_CHARS,
    PreflightError,
    read_rows,
    run_preflight,
)
from tests.lambda_emulator import reward_function, running_lambda

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TRAIN = ROOT / "data" / "sample" / "train.jsonl"
GSM8K_SPEC = ROOT / "reward_specs" / "gsm8k.toml"
ACCOUNT = "123456789012"
REWARD_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nova-rft-reward-Fn-AbC123:7"
TRAIN_URI = "s3://nova-rft-data-bucket/datasets/0123456789abcdef/train.jsonl"
TEMPLATE = "Working through the problem step by step gives the result.\n#### {final_answer}"


@pytest.fixture(scope="module")
def server():
    with running_lambda() as server:
        yield server


@pytest.fixture
def fake_lambda(server, monkeypatch):
    server.behaviour = reward_function(GSM8K_SPEC)
    server.requests.clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return server


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def s3_serving(data: bytes, *, body: StreamingBody | None = None):
    """A real S3 client whose GetObject returns ``data`` (Stubber validates the request)."""
    s3 = session().client("s3")
    stubber = Stubber(s3)
    stubber.add_response(
        "get_object",
        {"Body": body or StreamingBody(io.BytesIO(data), len(data))},
        {"Bucket": "nova-rft-data-bucket", "Key": "datasets/0123456789abcdef/train.jsonl"},
    )
    stubber.activate()
    return s3


def preflight(rows: int = 4, data: bytes | None = None, template: str = TEMPLATE):
    data = SAMPLE_TRAIN.read_bytes() if data is None else data
    return run_preflight(
        s3=s3_serving(data),
        lambda_client=session().client("lambda"),
        training_uri=TRAIN_URI,
        function_arn=REWARD_ARN,
        rows=rows,
        template=template,
    )


def gsm_row(i: int, **extra) -> dict:
    return {
        "messages": [{"role": "user", "content": f"What is {i} + {i}? End with #### <answer>."}],
        "reference_answer": {"final_answer": str(2 * i)},
        "task_id": f"t-{i}",
        **extra,
    }


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


# --- the shipped grader passes -------------------------------------------------------------------


def test_shipped_gsm8k_grader_passes_preflight_on_the_sample_data(fake_lambda):
    """The real handler and spec, reached over real signed HTTP, rank every reference above every bad answer."""
    report = preflight(rows=4)
    assert report.rows == 4
    assert report.controls[0] == "reference"
    assert {"empty", "wrong_number", "hedged"} <= set(report.controls)
    assert report.answers == 4 * len(report.controls)
    assert report.worst_margin is not None and report.worst_margin > 0
    [request] = fake_lambda.requests
    assert request["function"] == REWARD_ARN  # the pinned version ARN, never $LATEST
    assert request["invocation_type"] == "RequestResponse" and request["signed"]


def test_preflight_event_is_shaped_like_bedrocks(fake_lambda):
    """docs/contract.md section 1: id, prompt + assistant reply, metadata with reference_answer and extras."""
    preflight(rows=2)
    event = fake_lambda.requests[0]["event"]
    sample_rows = [json.loads(line) for line in SAMPLE_TRAIN.read_text().splitlines()[:2]]
    assert len({element["id"] for element in event}) == len(event)
    first = event[0]
    assert first["id"] == "preflight-1-reference"
    assert first["messages"][:-1] == sample_rows[0]["messages"]
    assert first["messages"][-1]["role"] == "assistant"
    assert first["messages"][-1]["content"].endswith(
        "#### " + sample_rows[0]["reference_answer"]["final_answer"]
    )
    assert first["metadata"]["reference_answer"] == sample_rows[0]["reference_answer"]
    assert first["metadata"]["task_id"] == sample_rows[0]["task_id"]
    assert "messages" not in first["metadata"]


def test_a_valid_but_unsound_spec_fails_preflight(fake_lambda, tmp_path, monkeypatch):
    """A spec that only checks the format pays a wrong number as much as the right one: caught."""
    spec = tmp_path / "format_only.toml"
    spec.write_text(
        'name = "format-only"\n'
        "[[dimensions]]\n"
        'name = "format"\n'
        'grader = "format"\n'
        "weight = 1.0\n"
        "[dimensions.params]\n"
        "final_line = '####\\s*[-+]?\\$?[0-9][0-9,]*(\\.[0-9]+)?'\n"
    )
    fake_lambda.behaviour = reward_function(spec)
    with pytest.raises(PreflightError) as raised:
        preflight(rows=2)
    message = str(raised.value)
    assert "does not score reference answers strictly above known-bad answers" in message
    assert "'wrong_number'" in message and "format=" in message
    assert "rft score" in message


# --- failures over the wire ----------------------------------------------------------------------


def test_function_error_over_the_wire_is_reported(fake_lambda):
    """X-Amz-Function-Error: the payload is Lambda's error object, shown with its type and message."""
    fake_lambda.behaviour = lambda event: (
        200,
        {"X-Amz-Function-Error": "Unhandled"},
        json.dumps({"errorType": "KeyError", "errorMessage": "'final_answer'", "stackTrace": []}).encode(),
    )
    with pytest.raises(PreflightError) as raised:
        preflight(rows=1)
    message = str(raised.value)
    assert "raised KeyError instead of answering" in message and "'final_answer'" in message
    assert "/aws/lambda/nova-rft-reward-Fn-AbC123" in message


def test_invoke_api_error_names_the_permission(fake_lambda):
    fake_lambda.behaviour = lambda event: (
        404,
        {"x-amzn-ErrorType": "ResourceNotFoundException"},
        json.dumps({"Type": "User", "message": f"Function not found: {REWARD_ARN}"}).encode(),
    )
    with pytest.raises(PreflightError, match="ResourceNotFoundException: Function not found") as raised:
        preflight(rows=1)
    assert "lambda:InvokeFunction" in str(raised.value)


def test_reply_that_is_not_a_list_breaks_the_contract(fake_lambda):
    fake_lambda.behaviour = lambda event: (200, {}, json.dumps({"score": 1}).encode())
    with pytest.raises(PreflightError, match="the reply is dict, not a JSON array"):
        preflight(rows=1)


def test_long_failures_are_trimmed_to_fit_cloudformation(fake_lambda):
    """Many problems: the reason stays under CloudFormation's limit and says how many were left out."""
    fake_lambda.behaviour = lambda event: (
        200,
        {},
        json.dumps([{"id": f"wrong-{i}", "aggregate_reward_score": 0.0} for i in range(len(event))]).encode(),
    )
    with pytest.raises(PreflightError) as raised:
        preflight(rows=40, data=jsonl([gsm_row(i) for i in range(60)]))
    message = str(raised.value)
    assert len(message) <= MAX_MESSAGE_CHARS
    assert re.search(r"- \.\.\. and \d+ more \(see the job starter's logs\)", message)
    assert message.endswith("No training job was started.")


# --- reading the data ----------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_only_the_first_rows_are_read_from_a_large_file():
    """A 20,000-row file is streamed: preflight reads a small prefix, not the whole object."""
    data = jsonl([gsm_row(i) for i in range(20000)])
    stream = CountingStream(data)
    s3 = s3_serving(data, body=StreamingBody(stream, len(data)))
    rows, _ = read_rows(s3, TRAIN_URI, 4)
    assert [row.line for row in rows] == [1, 2, 3, 4]
    assert stream.bytes_read < len(data) / 20


def test_rows_without_a_reference_are_skipped_with_their_line_numbers_kept():
    data = (
        json.dumps(gsm_row(1)) + "\n\n" + json.dumps({**gsm_row(2), "reference_answer": ""}) + "\n"
        "not json\n" + json.dumps(gsm_row(3)) + "\r\n"
    ).encode()
    rows, _ = read_rows(s3_serving(data), TRAIN_URI, 4)
    assert [(row.line, row.data["task_id"]) for row in rows] == [(1, "t-1"), (5, "t-3")]


def test_no_usable_rows_is_a_clear_failure(fake_lambda):
    data = jsonl([{"messages": [{"role": "user", "content": "hi"}], "task_id": "x"}] * 3)
    with pytest.raises(PreflightError, match="no usable row") as raised:
        preflight(rows=2, data=data)
    assert "preflight_rows=0" in str(raised.value)
    assert fake_lambda.requests == []


def test_unreadable_training_data_names_the_permission():
    s3 = session().client("s3")
    stubber = Stubber(s3)
    stubber.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
    stubber.activate()
    with pytest.raises(PreflightError, match="AccessDenied: Access Denied") as raised:
        read_rows(s3, TRAIN_URI, 4)
    assert "s3:GetObject" in str(raised.value) and "kms:Decrypt" in str(raised.value)
