"""Fail fast and say why: with no route to AWS, every command that calls it answers with one line on
stderr — the service, the endpoint, the region and what to check — and exit 1, on the first connection
failure (no minutes of retries); the same cause reads the same in every command (credentials included).
Real boto3 clients against a closed port on 127.0.0.1 (``AWS_ENDPOINT_URL_<SERVICE>``): nothing listens,
so every connection is refused at once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rft import aws_errors
from tests.policy_runs import GSM8K, run_cli, write_task

TRAIN = str(Path(__file__).resolve().parents[1] / "data" / "sample" / "train.jsonl")


@pytest.fixture()
def closed_port() -> str:
    """A loopback URL where nothing listens (bound, then closed: refused immediately)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture()
def listening_port():
    """A loopback URL that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(autouse=True)
def fresh_boto3_session(monkeypatch):
    """boto3's default session caches the credentials it resolved: each test resolves its own."""
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture()
def fake_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def commands(tmp_path: Path) -> dict[str, list[str]]:
    task = write_task(tmp_path, 2)
    out = str(tmp_path / "out")
    return {
        "bedrock-runtime": ["baseline", "--data", str(task.path), "--spec", GSM8K, "--out", out, "--yes"],
        "cloudformation": ["status", "--stack", "nova-rft"],
        "lambda": ["score", "--spec", GSM8K, "--data", TRAIN, "--limit", "2", "--remote", "reward-fn"],
    }


SUPPORT = str(Path(__file__).resolve().parents[1] / "reward_specs" / "support_rubric.toml")
LABELS = str(Path(__file__).resolve().parents[1] / "data" / "support" / "labels.jsonl")


def test_judge_check_with_no_route_is_one_line(tmp_path, monkeypatch, closed_port, fake_credentials):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", closed_port)
    argv = ["judge-check", "--spec", SUPPORT, "--labels", LABELS, "--out", str(tmp_path / "out"), "--yes"]
    code, _, err = run_cli(argv)
    lines = [line for line in err.splitlines() if line.strip() and "cost estimate" not in line]
    assert code == 1 and len(lines) == 1 and f"cannot reach bedrock-runtime at {closed_port}" in lines[0], err


@pytest.mark.parametrize("service", ["bedrock-runtime", "cloudformation", "lambda"])
def test_no_route_is_one_line_naming_the_service_endpoint_and_region(
    tmp_path, monkeypatch, closed_port, fake_credentials, service
):
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}", closed_port)
    code, _, err = run_cli(commands(tmp_path)[service])
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"cannot reach {service} at {closed_port}" in lines[0] and "region us-east-1" in lines[0]


def test_the_baseline_stops_at_the_first_connection_failure(
    tmp_path, monkeypatch, closed_port, fake_credentials
):
    """Not 8 `sampling_failed` after minutes of retries: the run aborts, and nothing is graded."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", closed_port)
    code, _, err = run_cli(commands(tmp_path)["bedrock-runtime"])
    assert code == 1 and "cannot reach bedrock-runtime" in err and "no sample could be graded" not in err


def test_clients_connect_briefly_and_retry_a_connection_error_few_times():
    """The bound behind "within 15 seconds": a short connect timeout times few attempts."""
    config = aws_errors.client_config()
    assert config.connect_timeout == aws_errors.CONNECT_TIMEOUT_S <= 5
    assert config.retries["total_max_attempts"] == aws_errors.MAX_ATTEMPTS <= 3
    assert aws_errors.CONNECT_TIMEOUT_S * aws_errors.MAX_ATTEMPTS < 15


@pytest.mark.parametrize("service", ["bedrock-runtime", "cloudformation"])
def test_no_credentials_reads_the_same_in_every_command(tmp_path, monkeypatch, listening_port, service):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}", listening_port)
    code, _, err = run_cli(commands(tmp_path)[service])
    assert code == 1
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith("no AWS credentials found: set AWS_PROFILE, or run `aws configure` / `aws sso login`")
    ), err
