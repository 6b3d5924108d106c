"""One way to call Amazon Bedrock Runtime politely, shared by the ``judge`` grader (in the reward Lambda)
and the ``rft`` CLI's sampling (``rft baseline`` / ``rft eval``).

- **Client**: created lazily, once per process (per region, endpoint, pool size and read timeout), with
  botocore's own retries off (``total_max_attempts = 1``) because ``call_with_retries`` retries with full
  jitter under a deadline. Region: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else ``us-east-1``. Endpoint
  override: boto3 honours ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (the tests' emulator uses it).
- **Pools**: one ``ThreadPoolExecutor`` per process (first come, first served: the sampler, bounded by
  ``--concurrency``) and one ``PriorityPool`` (the paced judge: lowest priority first), each grown to the
  largest size any caller asks for; the client's connection pool matches the calls in flight.
- **One call, retried** (``call_with_retries``): throttles, 5xx, model timeouts and network timeouts are
  retried with capped exponential backoff and full jitter, never sleeping past a deadline — with a deadline,
  throttles until it, the rest up to ``max_attempts``; a ``reward.pacing.CallGate`` paces the sends. Any
  other AWS error is ``CallFailed("fatal")`` at once (it would fail every call the same way). ``Usage``
  counts calls, throttles, retries and tokens as they happen.

Importing this module does not import boto3 (the Lambda's cold start and ``rft --help`` stay fast).
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reward import pacing
from reward.pacing import CallGate

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
    ``exhausted`` (retries of throttles, 5xx or network errors used up), ``malformed`` (the model answered,
    but not acceptably, twice), ``deadline`` (no time left to retry)."""

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


class PriorityPool:
    """Threads that run submitted calls lowest ``priority`` first (then in submission order).

    The judge submits each call with its sample's position in the batch, so when a batch's judge
    dimensions (one pool for all) cannot all be served at once, both calls of the first samples go first.
    """

    def __init__(self, size: int) -> None:
        self.size = 0
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Future[Any], Callable[[], Any]]] = []
        self._seq = itertools.count()
        self._closed = False
        self.grow(size)

    def grow(self, size: int) -> None:
        """Have at least ``size`` threads."""
        with self._cond:
            while self.size < size:
                self.size += 1
                threading.Thread(target=self._work, name=f"bedrock-{self.size}", daemon=True).start()

    def submit(self, priority: float, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on a pool thread; its ``Future``."""
        future: Future[Any] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the Bedrock call pool is shut down")
            heapq.heappush(self._queue, (priority, next(self._seq), future, lambda: fn(*args)))
            self._cond.notify()
        return future

    def shutdown(self) -> None:
        """Cancel what has not started; the threads end when their call does."""
        with self._cond:
            self._closed = True
            for _, _, future, _ in self._queue:
                future.cancel()
            self._queue.clear()
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed and not self._queue:
                    return
                _, _, future, call = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to the waiter, as ThreadPoolExecutor does
                future.set_exception(exc)


_priority_pool: PriorityPool | None = None


def priority_pool(size: int) -> PriorityPool:
    """The shared pool of judge-call threads, ordered by priority, grown to at least ``size`` threads."""
    global _priority_pool
    with _lock:
        if _priority_pool is None:
            _priority_pool = PriorityPool(size)
        else:
            _priority_pool.grow(size)
        return _priority_pool


def _forget_in_child() -> None:
    """A forked child inherits the pools' objects but none of their threads (and maybe a held lock):
    start afresh, as a new execution environment would."""
    global _executor, _executor_size, _priority_pool, _lock
    _lock = threading.Lock()
    _clients.clear()
    _executor, _executor_size, _priority_pool = None, 0, None


os.register_at_fork(after_in_child=_forget_in_child)


def reset() -> None:
    """Forget clients, pools and pacing (tests switch endpoints and regions)."""
    global _executor, _executor_size, _priority_pool
    with _lock:
        _clients.clear()
        if _executor is not None:
            _executor.shutdown(wait=False, cancel_futures=True)
        _executor, _executor_size = None, 0
        if _priority_pool is not None:
            _priority_pool.shutdown()
        _priority_pool = None
    pacing.reset()


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


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    """Nothing answered at the endpoint (no route, DNS, refused, connect timeout): for an interactive
    caller (``unreachable_is_fatal``, the CLI's sampler) every other call would fail the same way."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    return (ConnectTimeoutError, EndpointConnectionError)


def backoff_delay(
    retry: int, base_s: float, max_s: float, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Full jitter: uniform in [0, min(max_s, base_s * 2**retry)] (AWS Architecture Blog, 2015)."""
    return rng(0.0, min(max_s, base_s * (2 ** min(retry, 30))))


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
    gate: CallGate | None = None,
    priority: float = 0.0,
    count_throttles: bool = False,
    unreachable_is_fatal: bool = False,
) -> Any:
    """Call ``send()`` until ``accept(reply)`` returns without raising a retryable ``ValueError``.

    Retried, with full-jitter backoff capped at ``backoff_max_s``: throttles (``THROTTLE_CODES``), 5xx,
    model timeouts and network timeouts; ``accept`` raising ``ValueError`` (a malformed reply) once;
    ``Refused`` never; any other AWS error is ``CallFailed("fatal")`` at once. With a ``deadline`` (a
    ``time.monotonic()`` instant), a throttle is retried for as long as the deadline allows — the quota is
    shared, and waiting is the answer to it — and ``max_attempts`` bounds only the other failures; without
    one (or with ``count_throttles``: the behaviour before pacing), every failure counts toward
    ``max_attempts``. No sleep and no call that could not be answered
    before the deadline is started (``CallFailed("deadline")``). ``gate`` (``reward.pacing``) paces the
    sends and learns from their outcomes; ``priority``: lower goes first through it. ``stop()`` true (the
    caller gave up) ends the loop. ``unreachable_is_fatal``: an endpoint that does not answer at all (no
    route, connect timeout) is ``CallFailed("fatal")`` at once, for interactive callers that should say so
    in seconds rather than retry for minutes.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    network = _transient_network_errors()
    unreachable = _unreachable_errors()
    malformed_left = 1
    failures = throttles = 0
    last = ""
    throttles_count = count_throttles or deadline is None

    def used_up() -> bool:
        return failures + (throttles if throttles_count else 0) >= max_attempts

    def exhausted() -> CallFailed:
        return CallFailed("exhausted", f"call failed after {failures + throttles} attempts; last: {last}")

    while True:
        if failures or throttles:
            reserve = gate.latency_s if gate is not None else 0.0
            delay = backoff_delay(failures + throttles - 1, backoff_base_s, backoff_max_s)
            if deadline is not None:
                left = deadline - reserve - time.monotonic()
                if left <= 0:
                    raise CallFailed("deadline", f"no time left before the batch deadline to retry ({last})")
                delay = min(delay, left)
            sleep(delay)
            usage.retries += 1
        if stop():
            raise CallFailed("deadline", f"the batch stopped waiting ({last or 'before the call'})")
        sent_at = 0.0
        if gate is not None:
            got = gate.enter(priority, deadline)
            if got is None:
                raise CallFailed(
                    "deadline", f"no call could be answered before the batch deadline ({last or 'paced'})"
                )
            sent_at = got
            if stop():  # the batch gave up (or failed for good) while this call waited for its turn
                gate.leave(sent_at, "unsent")
                raise CallFailed("deadline", f"the batch stopped waiting ({last or 'before the call'})")
        outcome = "failed"
        usage.calls += 1
        try:
            reply = send()
            outcome = "ok"
        except ClientError as exc:
            code = error_code(exc)
            message = str((exc.response.get("Error") or {}).get("Message") or exc)
            if code not in RETRYABLE_CODES:
                raise CallFailed(
                    "fatal", f"{code}: {message[:300]}", code=code, aws_message=message
                ) from None
            last = f"{code}: {message[:200]}"
            if code in THROTTLE_CODES:
                outcome = "throttled"
                usage.throttles += 1
                throttles += 1
            else:
                failures += 1
            if used_up():
                raise exhausted() from None
            continue
        except network as exc:
            last = f"{type(exc).__name__}: {str(exc)[:200]}"
            if unreachable_is_fatal and isinstance(exc, unreachable):
                name = type(exc).__name__
                raise CallFailed("fatal", last, code=name, aws_message=str(exc)) from exc
            failures += 1
            if used_up():
                raise exhausted() from None
            continue
        except BotoCoreError as exc:  # no credentials, bad parameters, bad endpoint: the same for every call
            name = type(exc).__name__
            raise CallFailed("fatal", f"{name}: {str(exc)[:300]}", code=name, aws_message=str(exc)) from None
        finally:
            if gate is not None:
                gate.leave(sent_at, outcome)
        tokens = reply.get("usage") or {}
        usage.input_tokens += int(tokens.get("inputTokens") or 0)
        usage.output_tokens += int(tokens.get("outputTokens") or 0)
        try:
            return accept(reply)
        except Refused as exc:
            raise CallFailed("refused", str(exc)) from None
        except ValueError as exc:
            last = str(exc)
            failures += 1
            if malformed_left <= 0 or used_up():
                raise CallFailed("malformed", last) from None
            malformed_left -= 1
            continue
