"""Run the `code` grader's jobs on the code-runner Lambda: fan out, retry what is ours, isolate culprits.

    reply = invoke_runner({"version": 1, "jobs": [...]}, function=os.environ["CODE_RUNNER_FUNCTION"],
                          deadline=time.monotonic() + 120)

The deployed reward Lambda never runs a model's program itself: it sends the jobs to the runner Lambda
(`lambda_src/code_runner`, in a VPC with no route out; see stacks/constructs/code_sandbox.py) and Lambda is
the scale-out engine. This module

1. splits the jobs into chunks (at most `chunk_size` jobs each, small enough that every one of up to
   `max_parallel` concurrent invocations gets work) and invokes the runner (Invoke, RequestResponse) for
   the chunks in parallel threads;
2. retries what is infrastructure and transient — throttling (`TooManyRequestsException`, also when the
   runner's reserved concurrency is exhausted), Lambda 5xx, a function still creating its network
   interfaces, a dropped connection — with capped exponential backoff and full jitter, for as long as the
   deadline allows;
3. re-runs alone each job the runner answered with "deadline" (its invocation's time ran out before
   the job's turn, behind slower chunk-mates): in a chunk of one it gets the whole invocation;
4. treats a *function error* (the runner process crashed, ran out of memory, timed out, or answered
   something that is not a reply) as something a job did: the chunk is split in halves and each half
   re-run, until the job that alone breaks the runner is found. That job is the response's failure
   (status "ok", 0 tests passed, the reason says what happened) — never "error", which the spec's
   `on_error = "exclude"` would leave out of the aggregate and so pay better than a wrong answer. Its
   chunk-mates get their real verdicts from the re-runs;
5. answers "error" only for what is provably not the response's doing: access denied, no such function,
   a runner that cannot even load its own code, a reply the runner's own contract rules out for every job,
   and the deadline (jobs not answered by then).

The reply has one result per job, in job order, with the job's id:
`{"version": 1, "results": [{"id", "status", "passed", "total", "tests", "reason"}, ...]}`.
"""

from __future__ import annotations

import json
import math
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reward.contract import LAMBDA_PAYLOAD_BYTES

#: The request/reply format version shared with lambda_src/code_runner.
PROTOCOL_VERSION = 1

#: Lambda error codes worth retrying: throttling, service trouble, a function not ready yet (Lambda
#: creates its VPC network interfaces after a deploy), an update in progress.
RETRYABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ServiceException",
        "ResourceNotReadyException",
        "ResourceConflictException",
        "EC2ThrottledException",
        "EC2UnexpectedException",
        "ENILimitReachedException",
        "SubnetIPAddressLimitReachedException",
        "ThrottlingException",
        "RequestTimeout",
    }
)

#: Lambda error codes that no retry can fix: the deployment is wrong (permissions, a missing function, the
#: runner's VPC configuration). Every job gets "error" with the code.
FATAL_CODES = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "InvalidParameterValueException",
        "EC2AccessDeniedException",
        "InvalidSubnetIDException",
        "InvalidSecurityGroupIDException",
        "InvalidZipFileException",
        "InvalidRuntimeException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "UnsupportedMediaTypeException",
        "InvalidRequestContentException",
    }
)

#: Function errors that mean the runner's own code cannot load: every job would fail alike, and the
#: fault is the deployment's, not a response's.
RUNNER_BROKEN_ERRORS = frozenset(
    {
        "Runtime.ImportModuleError",
        "Runtime.HandlerNotFound",
        "Runtime.UserCodeSyntaxError",
        "Runtime.MalformedHandlerName",
        "Runtime.InvalidEntrypoint",
    }
)

#: Lambda's limit on a synchronous request payload (6 MB); bigger chunks are split before sending.
MAX_PAYLOAD_BYTES = LAMBDA_PAYLOAD_BYTES - 1024


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    base_s: float = 0.2
    cap_s: float = 5.0
    #: Attempts per chunk when there is no deadline (with one, the deadline is the bound).
    max_attempts: int = 8

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        return rng() * min(self.cap_s, self.base_s * (2**attempt))


@dataclass
class _Chunk:
    jobs: list[dict[str, Any]]
    attempt: int = 0
    ready_at: float = 0.0


@dataclass(frozen=True)
class _Outcome:
    kind: str  # "reply" | "retry" | "split" | "fatal"
    detail: str = ""
    results: tuple[dict[str, Any], ...] = ()


def job_test_count(job: dict[str, Any]) -> int:
    """How many tests a job has (for a failure's `total`): its `tests` list, or 1 for `test_code`."""
    tests = job.get("tests")
    return len(tests) if isinstance(tests, list) and tests else 1


def failure(job: dict[str, Any], reason: str) -> dict[str, Any]:
    """The response's failure: its program broke the runner. Scored as a wrong answer (0 passed)."""
    return {
        "id": job["id"],
        "status": "ok",
        "passed": 0,
        "total": job_test_count(job),
        "tests": [],
        "reason": reason,
    }


def infrastructure_error(job: dict[str, Any], reason: str) -> dict[str, Any]:
    """Not the response's doing (access, a missing runner, the deadline): the spec's error policy applies."""
    return {
        "id": job["id"],
        "status": "error",
        "passed": 0,
        "total": job_test_count(job),
        "tests": [],
        "reason": reason,
    }


_client_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}


def runner_client() -> Any:
    """The Lambda client (created once per process and endpoint; honours AWS_ENDPOINT_URL_LAMBDA).

    botocore's own retries are off (this module retries with the deadline in view, and a retried read
    timeout would re-run a chunk behind our back); the read timeout exceeds Lambda's 900-second maximum,
    so a slow runner is never cut off by the HTTP client — the deadline decides.
    """
    key = (os.environ.get("AWS_ENDPOINT_URL_LAMBDA", ""), os.environ.get("AWS_REGION", ""))
    with _client_lock:
        if key not in _clients:
            _clients[key] = make_client()
        return _clients[key]


def make_client(max_pool_connections: int = 64) -> Any:
    """A fresh Lambda client configured for the runner (see `runner_client`)."""
    import boto3  # imported late: only code specs pay for it
    from botocore.config import Config

    return boto3.client(
        "lambda",
        config=Config(
            connect_timeout=5,
            read_timeout=910,
            retries={"total_max_attempts": 1},
            max_pool_connections=max_pool_connections,
        ),
    )


def invoke_runner(
    request: dict[str, Any],
    *,
    function: str,
    deadline: float | None,
    max_parallel: int = 16,
    chunk_size: int = 8,
    client: Any = None,
    backoff: Backoff = Backoff(),
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> dict[str, Any]:
    """Run `request`'s jobs on the runner Lambda `function` and return one result per job, in job order.

    Args:
        request: `{"version": 1, "jobs": [{"id": str, ...}, ...]}` (ids unique).
        function: the runner's name or (qualified) ARN, as in `CODE_RUNNER_FUNCTION`.
        deadline: a `clock()` instant (`time.monotonic()`); jobs without an answer by then are "error"
            ("deadline") and the call returns — it never waits past it. None: no deadline.
        max_parallel: invocations in flight at once (each holds one unit of the runner's concurrency).
        chunk_size: the most jobs in one invocation.
        client: a boto3 Lambda client (default: `runner_client()`).
        backoff, clock, rng: retry timing, injectable for tests.

    Raises ValueError for a malformed request (a caller bug), never for anything the runner does.
    """
    jobs = _checked_jobs(request)
    if not jobs:
        return {"version": PROTOCOL_VERSION, "results": []}
    if max_parallel < 1 or chunk_size < 1:
        raise ValueError("max_parallel and chunk_size must be at least 1")
    lambda_client = client if client is not None else runner_client()
    results: dict[str, dict[str, Any]] = {}
    per_chunk = max(1, min(chunk_size, math.ceil(len(jobs) / max_parallel)))
    waiting = [_Chunk(list(part)) for part in _payload_chunks(jobs, per_chunk)]
    done: queue.Queue[tuple[_Chunk, _Outcome]] = queue.Queue()
    in_flight = 0

    def start(chunk: _Chunk) -> None:
        def run() -> None:
            try:
                outcome = _invoke_once(lambda_client, function, chunk.jobs)
            except Exception as exc:  # a bug of ours: answer "error" rather than leave the chunk hanging
                outcome = _Outcome("fatal", f"code runner client failed: {type(exc).__name__}: {exc}")
            done.put((chunk, outcome))

        # Daemon threads: at the deadline the caller returns and an invocation still in flight is left
        # to finish on its own (its answer is no longer wanted), instead of holding the Lambda open.
        threading.Thread(target=run, name="code-runner-invoke", daemon=True).start()

    while len(results) < len(jobs):
        now = clock()
        if deadline is not None and now >= deadline:
            break
        # Start every chunk that is due, up to max_parallel in flight.
        waiting.sort(key=lambda c: c.ready_at)
        while waiting and in_flight < max_parallel and waiting[0].ready_at <= now:
            start(waiting.pop(0))
            in_flight += 1
        if in_flight == 0 and not waiting:
            break  # nothing left to do (cannot happen while results are missing, but never spin)
        wait = _wait_time(now, deadline, waiting if in_flight < max_parallel else [])
        try:
            chunk, outcome = done.get(timeout=wait)
        except queue.Empty:
            continue
        in_flight -= 1
        _settle(chunk, outcome, results, waiting, deadline=deadline, clock=clock, backoff=backoff, rng=rng)

    reason = "deadline: the code runner did not answer before the reward Lambda's deadline"
    return {
        "version": PROTOCOL_VERSION,
        "results": [results.get(job["id"]) or infrastructure_error(job, reason) for job in jobs],
    }


def _checked_jobs(request: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(request, dict) or request.get("version") != PROTOCOL_VERSION:
        raise ValueError(f"a code-runner request needs 'version': {PROTOCOL_VERSION}")
    jobs = request.get("jobs")
    if not isinstance(jobs, list) or not all(
        isinstance(j, dict) and isinstance(j.get("id"), str) for j in jobs
    ):
        raise ValueError("a code-runner request needs 'jobs': a list of objects, each with a string 'id'")
    ids = [j["id"] for j in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError("code-runner job ids must be unique")
    return jobs


def _payload_chunks(jobs: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Chunks of at most `size` jobs whose request fits Lambda's payload limit (one job is never split)."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_bytes = 64
    for job in jobs:
        job_bytes = len(json.dumps(job).encode()) + 2
        if current and (len(current) >= size or current_bytes + job_bytes > MAX_PAYLOAD_BYTES):
            chunks.append(current)
            current, current_bytes = [], 64
        current.append(job)
        current_bytes += job_bytes
    if current:
        chunks.append(current)
    return chunks


def _wait_time(now: float, deadline: float | None, waiting: list[_Chunk]) -> float:
    """How long to block for the next answer: until the deadline, or the next retry is due."""
    limits = [60.0]  # wake up now and then even without a deadline (a lost thread cannot hang us)
    if deadline is not None:
        limits.append(deadline - now)
    if waiting:
        limits.append(min(c.ready_at for c in waiting) - now)
    return max(0.0, min(limits))


def _settle(
    chunk: _Chunk,
    outcome: _Outcome,
    results: dict[str, dict[str, Any]],
    waiting: list[_Chunk],
    *,
    deadline: float | None,
    clock: Callable[[], float],
    backoff: Backoff,
    rng: Callable[[], float],
) -> None:
    """Record a finished invocation: results, a retry, two halves to re-run, or errors."""
    if outcome.kind == "reply":
        jobs = {job["id"]: job for job in chunk.jobs}
        for result in outcome.results:
            if len(chunk.jobs) > 1 and _runner_ran_out_of_time(result):
                # The invocation's own time ran out before this job got its turn (a slow chunk-mate, a
                # chunk too big for the runner's timeout): run it again alone rather than excuse it.
                waiting.append(_Chunk([jobs[result["id"]]]))
            else:
                results[result["id"]] = result
    elif outcome.kind == "fatal":
        for job in chunk.jobs:
            results[job["id"]] = infrastructure_error(job, outcome.detail)
    elif outcome.kind == "split":
        if len(chunk.jobs) == 1:
            job = chunk.jobs[0]
            results[job["id"]] = failure(job, f"the program broke the code runner: {outcome.detail}")
        else:
            half = len(chunk.jobs) // 2
            waiting += [_Chunk(chunk.jobs[:half]), _Chunk(chunk.jobs[half:])]
    else:  # retry
        delay = backoff.delay(chunk.attempt, rng)
        ready_at = clock() + delay
        out_of_time = deadline is not None and ready_at >= deadline
        out_of_attempts = deadline is None and chunk.attempt + 1 >= backoff.max_attempts
        if out_of_time or out_of_attempts:
            why = "deadline" if out_of_time else f"{backoff.max_attempts} attempts"
            for job in chunk.jobs:
                results[job["id"]] = infrastructure_error(
                    job, f"code runner unavailable ({outcome.detail}); gave up retrying: {why}"
                )
        else:
            waiting.append(_Chunk(chunk.jobs, attempt=chunk.attempt + 1, ready_at=ready_at))


def _runner_ran_out_of_time(result: dict[str, Any]) -> bool:
    """The runner's answer for a job it could not finish within the invocation (reason "deadline: ...")."""
    return result.get("status") == "error" and str(result.get("reason", "")).startswith("deadline")


def _invoke_once(client: Any, function: str, jobs: list[dict[str, Any]]) -> _Outcome:
    """One synchronous invocation, classified. Never raises."""
    from botocore.exceptions import BotoCoreError, ClientError

    payload = json.dumps({"version": PROTOCOL_VERSION, "jobs": jobs}).encode()
    try:
        response = client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=payload)
        body = response["Payload"].read()
    except ClientError as error:
        return _client_error(error)
    except BotoCoreError as error:  # connection refused/reset, read timeout: the network, not the job
        return _Outcome("retry", f"{type(error).__name__}: {error}")
    if response.get("FunctionError"):
        return _function_error(body)
    return _reply(body, jobs)


def _client_error(error: Any) -> _Outcome:
    info = error.response.get("Error", {})
    code = info.get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    detail = f"{code or 'HTTP ' + str(status)}: {info.get('Message', '')}".strip()
    if code in RETRYABLE_CODES:
        return _Outcome("retry", detail)
    if code == "RequestTooLargeException" or status == 413:
        return _Outcome("split", detail)  # the request itself is too large: smaller chunks will fit
    if code in FATAL_CODES or "AccessDenied" in code or status < 500:
        return _Outcome("fatal", f"code runner cannot be invoked ({detail})")
    return _Outcome("retry", detail)  # any other 5xx: Lambda's side, transient until shown otherwise


def _function_error(body: bytes) -> _Outcome:
    """The runner did not return normally: crashed, out of memory, timed out, reply too large."""
    try:
        error = json.loads(body)
    except ValueError:
        error = {}
    error = error if isinstance(error, dict) else {}
    error_type = str(error.get("errorType", "Unhandled"))
    message = str(error.get("errorMessage", ""))[:300]
    if error_type in RUNNER_BROKEN_ERRORS:
        return _Outcome("fatal", f"the code runner cannot load its code ({error_type}: {message})")
    if "timed out" in message.lower() or "timedout" in error_type.lower():
        what = "it ran until the runner Lambda timed out"
    elif "memory" in (error_type + message).lower():
        what = "the runner Lambda ran out of memory"
    else:
        what = "the runner Lambda crashed"
    return _Outcome("split", f"{what} ({error_type}: {message})")


def _reply(body: bytes, jobs: list[dict[str, Any]]) -> _Outcome:
    """A normal answer: it must hold exactly one well-formed result per job of the chunk."""
    try:
        reply = json.loads(body)
    except ValueError:
        return _Outcome("split", "the runner's reply is not JSON")
    problem = _reply_problem(reply, jobs)
    if problem:
        # Programs run in child processes and cannot write the reply; one that still garbles it (say,
        # by flooding what the runner reads back) is found like a crash: split and re-run.
        return _Outcome("split", f"the runner's reply is malformed ({problem})")
    return _Outcome("reply", results=tuple(reply["results"]))


def _reply_problem(reply: Any, jobs: list[dict[str, Any]]) -> str:
    if not isinstance(reply, dict) or reply.get("version") != PROTOCOL_VERSION:
        return f"expected an object with version {PROTOCOL_VERSION}"
    found = reply.get("results")
    if not isinstance(found, list):
        return "no results list"
    expected = {job["id"] for job in jobs}
    ids = []
    for result in found:
        if not isinstance(result, dict) or result.get("id") not in expected:
            return "a result for an unknown job"
        if result.get("status") not in ("ok", "error"):
            return f"result {result['id']!r} has status {result.get('status')!r}"
        counts = (result.get("passed"), result.get("total"))
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
            return f"result {result['id']!r} has no passed/total counts"
        ids.append(result["id"])
    if sorted(ids) != sorted(expected):
        return f"{len(ids)} results for {len(expected)} jobs"
    return ""
