"""One way to call Amazon Bedrock Runtime politely, shared by the ``judge`` grader (in the reward Lambda)
and the ``rft`` CLI's sampling (``rft baseline`` / ``rft eval``).

- **Client**: created lazily, once per process (per region, endpoint, pool size and read timeout), with
  botocore's own retries off (``total_max_attempts = 1``) because ``call_with_retries`` retries with full
  jitter under a deadline. Region: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else ``us-east-1``. Endpoint
  override: boto3 honours ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (the tests' emulator uses it).
- **Pool**: one ``ThreadPoolExecutor`` per process, grown to the largest size any caller asks for; the
  client's connection pool matches it. Callers bound their own calls in flight (the judge by its batch,
  the sampler by ``--concurrency``).
- **One call, retried** (``call_with_retries``): throttles, 5xx, model timeouts and network timeouts are
  retried with capped exponential backoff and full jitter, never sleeping past a deadline; any other AWS
  error is ``CallFailed("fatal")`` at once (it would fail every call the same way). ``Usage`` counts calls,
  throttles, retries and tokens as they happen.

Importing this module does not import boto3 (the Lambda's cold start and ``rft --help`` stay fast).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

#: AWS error codes worth retrying: capacity, transient server faults and model warm-up.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "ModelErrorException",
        "TooManyRequestsException",
    }
)
THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "ModelNotReadyException"})
CONNECT_TIMEOUT_S = 5.0


@dataclass
class Usage:
    """What a piece of work cost in Bedrock calls (mutable: worker threads add to it as calls happen)."""

    calls: int = 0
    throttles: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Refused(Exception):
    """Raised by an ``accept`` callback when the model refused (content filter, guardrail): not retried."""


class CallFailed(Exception):
    """A Converse call failed for good. ``kind``: ``fatal`` (not retryable: every call would fail the same
    way; ``code``/``aws_message`` say what AWS answered), ``refused`` (content filter or guardrail),
    ``exhausted`` (retries used up), ``deadline`` (no time left to retry)."""

    def __init__(self, kind: str, message: str, *, code: str = "", aws_message: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.aws_message = aws_message


# ---------------------------------------------------------------- client and pool

_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
_executor: ThreadPoolExecutor | None = None
_executor_size = 0


def region() -> str:
    """The Bedrock Runtime region: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(*, pool_size: int, read_timeout_s: float) -> Any:
    """The process's ``bedrock-runtime`` client for these settings (created on first use)."""
    key = (region(), os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"), pool_size, read_timeout_s)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:  # boto3 client creation is not thread-safe
        found = _clients.get(key)
        if found is None:
            import boto3
            from botocore.config import Config

            config = Config(
                region_name=key[0],
                max_pool_connections=max(pool_size, 10),
                connect_timeout=min(CONNECT_TIMEOUT_S, read_timeout_s),
                read_timeout=read_timeout_s,
                retries={"total_max_attempts": 1, "mode": "standard"},  # we retry ourselves
                tcp_keepalive=True,
            )
            found = boto3.session.Session().client("bedrock-runtime", config=config)
            _clients[key] = found
        return found


def executor(size: int) -> ThreadPoolExecutor:
    """The shared pool of Bedrock-call threads, grown to at least ``size`` workers."""
    global _executor, _executor_size
    if _executor is not None and _executor_size >= size:
        return _executor
    with _lock:
        if _executor is None or _executor_size < size:
            old = _executor
            _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="bedrock")
            _executor_size = size
            if old is not None:
                old.shutdown(wait=False)  # its running calls finish; new work goes to the bigger pool
        return _executor


def reset() -> None:
    """Forget clients and pool (tests switch endpoints and regions)."""
    global _executor, _executor_size
    with _lock:
        _clients.clear()
        if _executor is not None:
            _executor.shutdown(wait=False, cancel_futures=True)
        _executor, _executor_size = None, 0


# ---------------------------------------------------------------- one call, retried


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (else the exception's class name)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def _transient_network_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    return (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)


def backoff_delay(
    retry: int, base_s: float, max_s: float, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Full jitter: uniform in [0, min(max_s, base_s * 2**retry)] (AWS Architecture Blog, 2015)."""
    return rng(0.0, min(max_s, base_s * (2**retry)))


def call_with_retries(
    send: Callable[[], dict[str, Any]],
    usage: Usage,
    *,
    max_attempts: int,
    deadline: float | None,
    backoff_base_s: float,
    backoff_max_s: float,
    accept: Callable[[dict[str, Any]], Any],
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Call ``send()`` until ``accept(reply)`` returns without raising a retryable ``ValueError``.

    Throttles, 5xx, model timeouts and network timeouts are retried with full-jitter backoff, never sleeping
    past ``deadline`` (a ``time.monotonic()`` instant); ``accept`` raising ``ValueError`` (a malformed
    reply) is retried once and raising ``Refused`` not at all; any other AWS error is
    ``CallFailed("fatal")`` at once. ``stop()`` true (the caller gave up) ends the loop.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    network = _transient_network_errors()
    malformed_left = 1
    last = ""
    for attempt in range(max_attempts):
        if attempt:
            delay = backoff_delay(attempt - 1, backoff_base_s, backoff_max_s)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise CallFailed("deadline", f"no time left before the batch deadline to retry ({last})")
            sleep(delay)
            usage.retries += 1
        if stop():
            raise CallFailed("deadline", f"the batch stopped waiting ({last or 'before the call'})")
        usage.calls += 1
        try:
            reply = send()
        except ClientError as exc:
            code = error_code(exc)
            message = str((exc.response.get("Error") or {}).get("Message") or exc)
            if code in THROTTLE_CODES:
                usage.throttles += 1
            if code in RETRYABLE_CODES:
                last = f"{code}: {message[:200]}"
                continue
            raise CallFailed("fatal", f"{code}: {message[:300]}", code=code, aws_message=message) from None
        except network as exc:
            last = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        except BotoCoreError as exc:  # no credentials, bad parameters, bad endpoint: the same for every call
            name = type(exc).__name__
            raise CallFailed("fatal", f"{name}: {str(exc)[:300]}", code=name, aws_message=str(exc)) from None
        tokens = reply.get("usage") or {}
        usage.input_tokens += int(tokens.get("inputTokens") or 0)
        usage.output_tokens += int(tokens.get("outputTokens") or 0)
        try:
            return accept(reply)
        except Refused as exc:
            raise CallFailed("refused", str(exc)) from None
        except ValueError as exc:
            last = str(exc)
            if malformed_left <= 0:
                raise CallFailed("exhausted", last) from None
            malformed_left -= 1
            continue
    raise CallFailed("exhausted", f"call failed after {max_attempts} attempts; last: {last}")
