"""The one way ``rft`` says what went wrong talking to AWS: credentials, region, an endpoint that cannot
be reached, a permission, or any other AWS error — the same cause reads the same in every command.

``explain(exc)`` turns a botocore exception into one line (or ``None`` for anything else); the commands'
``CliError``s and the sampler's abort message come from it. Connection problems name the service, the
endpoint, the region and what to check, and are raised on the *first* failure: ``client_config`` keeps
connect timeouts short and the attempts for a connection error few, so a laptop with no route to AWS hears
about it within seconds, not after minutes of retries.
"""

from __future__ import annotations

import os
from typing import Any

#: Seconds to wait for a TCP connection to an AWS endpoint (botocore's default: 60).
CONNECT_TIMEOUT_S = 3.0
#: Attempts per call, connection errors included (botocore's standard mode retries them; 3 x 3 s + its
#: backoff stays well under 15 s when nothing answers).
MAX_ATTEMPTS = 3
#: Seconds to wait for an answer from a control-plane API (CloudFormation, Bedrock, S3, Service Quotas).
READ_TIMEOUT_S = 30.0

_CREDENTIALS = "no AWS credentials found: set AWS_PROFILE, or run `aws configure` / `aws sso login`"


def client_config(*, read_timeout_s: float = READ_TIMEOUT_S, pool: int = 10) -> Any:
    """The botocore ``Config`` of every client ``rft`` makes: short connect timeout, few attempts."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=read_timeout_s,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        max_pool_connections=pool,
    )


def is_unreachable(exc: BaseException) -> bool:
    """True for the errors that mean nothing answered at the endpoint (no route, DNS, refused, timeout
    connecting) — not a slow answer (a read timeout), which the callers retry."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError))


def explain(
    exc: BaseException,
    *,
    operation: str = "",
    service: str = "",
    region: str = "",
    needs: tuple[str, ...] | list[str] = (),
) -> str | None:
    """One line for a botocore error (``None`` when ``exc`` is not one). ``operation`` (e.g.
    ``DescribeStacks nova-rft-training``) prefixes errors AWS answered; ``needs`` (permissions) is named
    when access is denied."""
    import botocore.exceptions as errors

    if isinstance(exc, (errors.NoCredentialsError, errors.PartialCredentialsError)):
        return _CREDENTIALS
    if isinstance(exc, errors.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION (Nova RFT runs in us-east-1)"
    if is_unreachable(exc):
        kwargs = getattr(exc, "kwargs", {}) or {}
        return unreachable_line(service, str(kwargs.get("endpoint_url") or ""), region, type(exc).__name__)
    if isinstance(exc, errors.ClientError):
        error = exc.response.get("Error", {}) or {}
        code = str(error.get("Code") or "error")
        message = " ".join(str(error.get("Message") or exc).split())
        what = operation or getattr(exc, "operation_name", "") or "AWS call"
        if code in (
            "ExpiredToken",
            "ExpiredTokenException",
            "UnrecognizedClientException",
            "InvalidClientTokenId",
        ):
            return (
                f"{what}: {code}: your AWS credentials are expired or invalid: refresh them (`aws sso login`)"
            )
        line = f"{what}: {code}: {message}"
        if needs and ("AccessDenied" in code or code == "UnauthorizedOperation"):
            line += "; the caller needs: " + ", ".join(needs)
        return line
    if isinstance(exc, ValueError) and str(exc).startswith("Invalid endpoint"):  # botocore's own ValueError
        return f"{exc}: check AWS_ENDPOINT_URL_* and the region (--region or AWS_REGION)"
    if isinstance(exc, errors.BotoCoreError):
        text = " ".join(str(exc).split())
        return f"{operation}: {text}" if operation else text
    return None


def unreachable_line(service: str, endpoint: str, region: str, reason: str) -> str:
    """The one line for an endpoint that does not answer: service, endpoint, region, what to check."""
    if "://" in endpoint:  # the endpoint, not the operation's path
        scheme, rest = endpoint.split("://", 1)
        endpoint = f"{scheme}://{rest.split('/', 1)[0]}"
    name = service or _service_of(endpoint) or "the AWS service"
    where = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "?"
    variable = f"AWS_ENDPOINT_URL_{name.upper().replace('-', '_')}" if service else "AWS_ENDPOINT_URL_*"
    return (
        f"cannot reach {name} at {endpoint or 'its endpoint'} (region {where}): {reason}. Check the network "
        f"(proxy, VPN, firewall), the region (--region or AWS_REGION) and {variable} if set"
    )


def check_reachable(service: str, region: str) -> str | None:
    """The unreachable line when ``service``'s endpoint in ``region`` (``AWS_ENDPOINT_URL_*`` honoured)
    accepts no TCP connection within ``CONNECT_TIMEOUT_S``; None when it does, or behind a proxy (whose
    reachability says nothing about the endpoint's). Asked before a run that is about to spend money."""
    import socket
    from urllib.parse import urlsplit

    if any(
        os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")
    ):
        return None
    import boto3

    endpoint = boto3.session.Session().client(service, region_name=region).meta.endpoint_url
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as exc:
        return unreachable_line(service, endpoint, region, exc.strerror or type(exc).__name__)


def _service_of(endpoint: str) -> str:
    """``bedrock-runtime`` from ``https://bedrock-runtime.us-east-1.amazonaws.com`` ('' when unknown)."""
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0] if host.endswith("amazonaws.com") else ""


__all__ = [
    "CONNECT_TIMEOUT_S",
    "MAX_ATTEMPTS",
    "check_reachable",
    "client_config",
    "explain",
    "is_unreachable",
    "unreachable_line",
]
