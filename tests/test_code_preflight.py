"""The job starter's preflight works for a code spec: the positive control is the row's reference
``solution`` in the spec's template, the negatives include hostile programs (exit early, always-equal,
printed "passed") and a program that does nothing, all graded by the real handler behind a real HTTP
Lambda endpoint with the local sandbox."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from job_starter.preflight import PreflightError, run_preflight
from reward.spec import load_spec
from tests.lambda_emulator import running_lambda

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "reward_specs" / "code.toml"
TRAIN = ROOT / "data" / "code" / "train.jsonl"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:nova-rft-reward-Fn-AbC123:7"
URI = "s3://nova-rft-data-bucket/datasets/0123456789abcdef/train.jsonl"


@pytest.fixture
def fake_lambda(monkeypatch):
    with running_lambda(SPEC) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield server


def clients(data: bytes):
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    s3 = session.client("s3")
    stubber = Stubber(s3)
    stubber.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(data), len(data))},
        {"Bucket": "nova-rft-data-bucket", "Key": "datasets/0123456789abcdef/train.jsonl"},
    )
    stubber.activate()
    return s3, session.client("lambda")


def test_the_shipped_code_spec_passes_preflight(fake_lambda):
    s3, lam = clients(TRAIN.read_bytes())
    template = load_spec(SPEC).control_template
    report = run_preflight(
        s3=s3, lambda_client=lam, training_uri=URI, function_arn=ARN, rows=3, template=template
    )
    assert report.rows == 3 and report.worst_margin is not None and report.worst_margin > 0
    assert {"code_exit_early", "code_print_passed", "code_does_nothing"} <= set(report.controls)


def test_a_template_without_the_solution_fails_preflight(fake_lambda):
    """Proof the check can fail: a template that never shows the program cannot score the reference."""
    s3, lam = clients(TRAIN.read_bytes())
    with pytest.raises(PreflightError):
        run_preflight(
            s3=s3,
            lambda_client=lam,
            training_uri=URI,
            function_arn=ARN,
            rows=2,
            template="The answer is below.",
        )
