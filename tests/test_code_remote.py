"""`reward.code_remote.invoke_runner` against a real Lambda Invoke endpoint on 127.0.0.1.

boto3 signs, sends and parses real requests (AWS_ENDPOINT_URL_LAMBDA); the emulator answers like the code
runner (tests/lambda_emulator.py) or scripts what Lambda does when things go wrong: throttling, 5xx, access
denied, a missing function, a runner that crashed, timed out, ran out of memory or answered garbage. Every
assertion is on statuses, reasons and counts of invocations — never on elapsed time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reward import code_remote
from reward.code_remote import Backoff, invoke_runner, make_client
from tests.lambda_emulator import (
    FakeLambda,
    Reply,
    fake_runner,
    function_error,
    runner_handler,
    running_lambda,
    service_error,
)

RUNNER = "arn:aws:lambda:us-east-1:123456789012:function:nova-rft-reward-CodeRunner-AbC:3"
FAST = Backoff(base_s=0.001, cap_s=0.002, max_attempts=4)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLambda]:
    with running_lambda() as fake:
        fake.behaviour = lambda event: (200, {}, json.dumps(fake_runner(event)).encode())
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", fake.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield fake


def jobs(programs: list[str], tests: int = 2) -> dict[str, Any]:
    return {
        "version": 1,
        "jobs": [
            {
                "id": f"s{i}",
                "language": "python",
                "program": program,
                "format": "function",
                "entry_point": "f",
                "tests": [{"args": [n], "kwargs": {}, "expected": n} for n in range(tests)],
                "limits": {},
            }
            for i, program in enumerate(programs)
        ],
    }


def run(request: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("deadline", None)
    kwargs.setdefault("backoff", FAST)
    return invoke_runner(request, function=RUNNER, client=make_client(), **kwargs)


def by_id(reply: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in reply["results"]}


def ids_in(server: FakeLambda) -> list[list[str]]:
    return [[job["id"] for job in r["event"]["jobs"]] for r in server.requests]


def crash_if(marker: str, reply: Reply, then: Callable[[object], Reply] | None = None) -> Callable:
    """Behaviour: answer `reply` when any job's program contains `marker`, else run the (fake) runner."""

    def behaviour(event: Any) -> Reply:
        if any(marker in job["program"] for job in event["jobs"]):
            return reply
        return (then or (lambda e: (200, {}, json.dumps(fake_runner(e)).encode())))(event)

    return behaviour


# --- fan-out -------------------------------------------------------------------------------------------


def test_jobs_fan_out_over_parallel_invocations_and_come_back_in_job_order(server: FakeLambda) -> None:
    """20 jobs, 4 in flight: 4 chunks of 5, every job answered once, in the request's order."""
    programs = ["PASS" if i % 3 else "wrong" for i in range(20)]
    reply = run(jobs(programs), max_parallel=4, chunk_size=8)
    assert reply["version"] == 1
    assert [r["id"] for r in reply["results"]] == [f"s{i}" for i in range(20)]
    assert [r["passed"] for r in reply["results"]] == [2 if p == "PASS" else 0 for p in programs]
    chunks = ids_in(server)
    assert sorted(len(c) for c in chunks) == [5, 5, 5, 5]
    assert sorted(i for c in chunks for i in c) == sorted(f"s{i}" for i in range(20))
    for request in server.requests:
        assert request["signed"] and request["invocation_type"] == "RequestResponse"
        assert request["function"] == RUNNER  # the exact version ARN, never $LATEST


def test_chunk_size_caps_jobs_per_invocation(server: FakeLambda) -> None:
    """Few parallel slots do not make huge chunks: at most chunk_size jobs per invocation."""
    run(jobs(["PASS"] * 10), max_parallel=1, chunk_size=3)
    assert [len(c) for c in ids_in(server)] == [3, 3, 3, 1]


def test_no_more_than_max_parallel_invocations_are_in_flight(server: FakeLambda) -> None:
    """The runner's concurrency is shared: one reward batch holds at most max_parallel of it."""
    lock, in_flight, peak = threading.Lock(), [0], [0]
    full = threading.Event()

    def behaviour(event: Any) -> Reply:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            if in_flight[0] == 3:
                full.set()
        full.wait(timeout=10)  # hold every request until three are in flight at once
        with lock:
            in_flight[0] -= 1
        return 200, {}, json.dumps(fake_runner(event)).encode()

    server.behaviour = behaviour
    reply = run(jobs(["PASS"] * 12), max_parallel=3, chunk_size=1)
    assert all(r["passed"] == 2 for r in reply["results"])
    assert len(server.requests) == 12
    assert peak[0] == 3


def test_an_empty_request_invokes_nothing(server: FakeLambda) -> None:
    assert run({"version": 1, "jobs": []}) == {"version": 1, "results": []}
    assert server.requests == []


def test_chunks_respect_lambdas_payload_limit() -> None:
    """A 6 MB synchronous payload limit: big jobs go in chunks of their own."""
    big = {"id": "big", "program": "x" * (code_remote.MAX_PAYLOAD_BYTES // 2 + 10)}
    small = {"id": "small", "program": "y"}
    chunks = code_remote._payload_chunks([big, dict(big, id="big2"), small], 8)
    assert [[j["id"] for j in c] for c in chunks] == [["big"], ["big2", "small"]]


@pytest.mark.parametrize(
    "request_",
    [
        {"jobs": []},
        {"version": 2, "jobs": []},
        {"version": 1, "jobs": [{"program": "no id"}]},
        {"version": 1, "jobs": [{"id": "a"}, {"id": "a"}]},
    ],
)
def test_a_malformed_request_is_a_caller_bug(request_: dict) -> None:
    with pytest.raises(ValueError):
        invoke_runner(request_, function=RUNNER, deadline=None, client=object())


# --- infrastructure: retried or "error" --------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        service_error(429, "TooManyRequestsException", "Rate Exceeded."),
        service_error(500, "ServiceException", "internal"),
        service_error(502, "EC2ThrottledException", "throttled creating network interfaces"),
        service_error(409, "ResourceNotReadyException", "function is being created"),
        service_error(503, "SomethingNewException", "a 5xx we have never seen"),
    ],
    ids=["throttled", "500", "eni-throttled", "not-ready", "unknown-5xx"],
)
def test_transient_failures_are_retried_and_the_jobs_still_get_their_verdicts(
    server: FakeLambda, failure: Reply
) -> None:
    """Two failures, then the runner answers: nothing is lost, nothing is blamed on a response."""
    calls = [0]

    def behaviour(event: Any) -> Reply:
        calls[0] += 1
        return failure if calls[0] <= 2 else (200, {}, json.dumps(fake_runner(event)).encode())

    server.behaviour = behaviour
    reply = run(jobs(["PASS", "wrong"]), max_parallel=1)
    assert [(r["status"], r["passed"]) for r in reply["results"]] == [("ok", 2), ("ok", 0)]
    assert len(server.requests) == 3


def test_backoff_grows_exponentially_up_to_the_cap_with_full_jitter() -> None:
    backoff = Backoff(base_s=0.1, cap_s=1.0)
    assert [backoff.delay(n, lambda: 1.0) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(3, lambda: 0.25) == 0.2
    assert backoff.delay(3, lambda: 0.0) == 0.0


def test_persistent_throttling_gives_up_after_max_attempts_as_error(server: FakeLambda) -> None:
    """Throttled every time: an infrastructure failure (error, excluded), not the response's."""
    server.behaviour = lambda event: service_error(429, "TooManyRequestsException", "Rate Exceeded.")
    reply = run(jobs(["PASS"]), max_parallel=1)
    (result,) = reply["results"]
    assert result["status"] == "error"
    assert "TooManyRequestsException" in result["reason"] and "4 attempts" in result["reason"]
    assert len(server.requests) == FAST.max_attempts


def test_throttling_until_the_deadline_stops_retrying_at_the_deadline(server: FakeLambda) -> None:
    """With a deadline, retries stop when the next one could not start in time."""
    server.behaviour = lambda event: service_error(429, "TooManyRequestsException", "Rate Exceeded.")
    slow = Backoff(base_s=10.0, cap_s=10.0)
    reply = run(jobs(["PASS"]), deadline=time.monotonic() + 5.0, backoff=slow, rng=lambda: 1.0)
    (result,) = reply["results"]
    assert result["status"] == "error" and "deadline" in result["reason"]
    assert len(server.requests) == 1  # the only retry would have started after the deadline


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (service_error(403, "AccessDeniedException", "not authorized"), "AccessDeniedException"),
        (service_error(404, "ResourceNotFoundException", "Function not found"), "ResourceNotFoundException"),
        (service_error(502, "EC2AccessDeniedException", "no ENI permission"), "EC2AccessDeniedException"),
    ],
    ids=["access-denied", "missing", "eni-denied"],
)
def test_a_misconfigured_deployment_is_error_at_once(server: FakeLambda, failure: Reply, code: str) -> None:
    """No retry can fix permissions or a missing function: every job is "error", naming the cause."""
    server.behaviour = lambda event: failure
    reply = run(jobs(["PASS"] * 4), max_parallel=2)
    assert {r["status"] for r in reply["results"]} == {"error"}
    assert all(code in r["reason"] for r in reply["results"])
    assert len(server.requests) == 2  # one per chunk, no retry


def test_a_runner_that_cannot_load_its_code_is_error_not_a_culprit_hunt(server: FakeLambda) -> None:
    """An import error breaks every invocation alike: the deployment's fault, found without splitting."""
    server.behaviour = lambda event: function_error(
        "Runtime.ImportModuleError", "No module named 'code_runner'"
    )
    reply = run(jobs(["PASS"] * 8), max_parallel=1)
    assert {r["status"] for r in reply["results"]} == {"error"}
    assert "cannot load its code" in reply["results"][0]["reason"]
    assert len(server.requests) == 1


def test_an_unreachable_endpoint_is_retried_then_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection refused is the network, not the job."""
    with running_lambda() as fake:
        url = fake.url
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", url)  # the server is gone: nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reply = run(jobs(["PASS"]))
    (result,) = reply["results"]
    assert result["status"] == "error" and "gave up retrying" in result["reason"]


def test_a_client_that_raises_unexpectedly_is_error_not_a_hang() -> None:
    """A bug on our side (here: a client without `invoke`) answers every job; nothing waits forever."""
    reply = invoke_runner(jobs(["PASS", "PASS"]), function=RUNNER, deadline=None, client=object())
    assert {r["status"] for r in reply["results"]} == {"error"}
    assert "code runner client failed: AttributeError" in reply["results"][0]["reason"]


# --- the deadline --------------------------------------------------------------------------------------------


def test_jobs_unanswered_at_the_deadline_are_error_and_the_call_returns(server: FakeLambda) -> None:
    """The reward Lambda must answer before its own timeout: a runner still busy is cut loose."""
    release = threading.Event()

    def behaviour(event: Any) -> Reply:
        if any("SLOW" in job["program"] for job in event["jobs"]):
            release.wait(timeout=30)
        return 200, {}, json.dumps(fake_runner(event)).encode()

    server.behaviour = behaviour
    try:
        reply = run(jobs(["PASS", "SLOW PASS"]), deadline=time.monotonic() + 1.0, max_parallel=2)
    finally:
        release.set()
    first, second = reply["results"]
    assert (first["status"], first["passed"]) == ("ok", 2)
    assert second["status"] == "error" and second["reason"].startswith("deadline")


def test_a_deadline_already_past_invokes_nothing(server: FakeLambda) -> None:
    reply = run(jobs(["PASS"] * 3), deadline=time.monotonic() - 1)
    assert {r["status"] for r in reply["results"]} == {"error"}
    assert server.requests == []


# --- isolating the culprit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (
            function_error(
                "Runtime.ExitError", "RequestId: x Error: Runtime exited with error: signal: killed"
            ),
            "crashed",
        ),
        (function_error("Sandbox.Timedout", "Task timed out after 60.00 seconds"), "timed out"),
        (function_error("Runtime.OutOfMemory", "Runtime exited with error: signal: killed"), "out of memory"),
        (function_error("Function.ResponseSizeTooLarge", "Response payload size exceeded"), "crashed"),
        ((200, {}, b"All tests passed!"), "not JSON"),
    ],
    ids=["killed", "timeout", "oom", "huge-reply", "garbage"],
)
def test_the_job_that_breaks_the_runner_is_found_and_fails_alone(
    server: FakeLambda, reply: Reply, words: str
) -> None:
    """One hostile program among eight: it scores as a wrong answer (status ok, 0 passed), never error;
    the seven others get their real verdicts from re-runs of the halves."""
    programs = ["PASS"] * 8
    programs[5] = "PASS while True: HOSTILE"
    server.behaviour = crash_if("HOSTILE", reply)
    result = run(jobs(programs, tests=3), max_parallel=1, chunk_size=8)
    found = by_id(result)
    culprit = found.pop("s5")
    assert (culprit["status"], culprit["passed"], culprit["total"]) == ("ok", 0, 3)
    assert words in culprit["reason"]
    assert all((r["status"], r["passed"]) == ("ok", 3) for r in found.values())
    # halving: 8 -> 4+4 -> 2+2 -> 1+1: one full run and three levels of two re-runs
    assert len(server.requests) == 7
    assert ["s5"] in ids_in(server)


def test_two_culprits_in_one_chunk_are_both_found(server: FakeLambda) -> None:
    programs = ["PASS", "HOSTILE", "PASS", "PASS", "PASS", "PASS", "HOSTILE", "wrong"]
    server.behaviour = crash_if("HOSTILE", function_error("Runtime.ExitError", "signal: killed"))
    result = by_id(run(jobs(programs), max_parallel=2, chunk_size=8))
    assert [result[f"s{i}"]["passed"] for i in range(8)] == [2, 0, 2, 2, 2, 2, 0, 0]
    assert {result["s1"]["status"], result["s6"]["status"]} == {"ok"}
    assert "broke the code runner" in result["s1"]["reason"]
    assert "broke the code runner" not in result["s7"]["reason"]  # merely wrong, not a culprit


def test_a_reply_missing_a_job_is_isolated_like_a_crash(server: FakeLambda) -> None:
    """A runner reply without one job's result: that job alone fails, the others keep theirs."""

    def behaviour(event: Any) -> Reply:
        reply = fake_runner(event)
        reply["results"] = [
            r for r, j in zip(reply["results"], event["jobs"]) if "VANISH" not in j["program"]
        ]
        return 200, {}, json.dumps(reply).encode()

    server.behaviour = behaviour
    result = by_id(run(jobs(["PASS", "PASS VANISH", "PASS", "PASS"]), max_parallel=1))
    assert [result[f"s{i}"]["passed"] for i in range(4)] == [2, 0, 2, 2]
    assert result["s1"]["status"] == "ok" and "malformed" in result["s1"]["reason"]


def test_a_crash_and_a_throttle_together(server: FakeLambda) -> None:
    """Throttled re-runs of the halves are retried; the culprit is still found."""
    calls = [0]
    crash = crash_if("HOSTILE", function_error("Runtime.ExitError", "signal: killed"))

    def behaviour(event: Any) -> Reply:
        calls[0] += 1
        if calls[0] in (2, 4):
            return service_error(429, "TooManyRequestsException", "Rate Exceeded.")
        return crash(event)

    server.behaviour = behaviour
    result = by_id(run(jobs(["PASS", "PASS", "HOSTILE", "PASS"]), max_parallel=1))
    assert [result[f"s{i}"]["passed"] for i in range(4)] == [2, 2, 0, 2]
    assert {r["status"] for r in result.values()} == {"ok"}


def test_jobs_the_runner_had_no_time_for_are_run_again_alone(server: FakeLambda) -> None:
    """A runner that gets through two jobs per invocation before its own deadline: the rest are re-run
    one per invocation, not excused as "deadline"."""

    def behaviour(event: Any) -> Reply:
        reply = fake_runner(event)
        for result in reply["results"][2:]:
            result.update(status="error", passed=0, reason="deadline: the batch deadline came first")
        return 200, {}, json.dumps(reply).encode()

    server.behaviour = behaviour
    reply = run(jobs(["PASS", "wrong", "PASS", "PASS", "wrong"]), max_parallel=1, chunk_size=5)
    assert [(r["status"], r["passed"]) for r in reply["results"]] == [
        ("ok", 2),
        ("ok", 0),
        ("ok", 2),
        ("ok", 2),
        ("ok", 0),
    ]
    assert ids_in(server) == [["s0", "s1", "s2", "s3", "s4"], ["s2"], ["s3"], ["s4"]]


def test_a_job_alone_that_the_runner_still_had_no_time_for_keeps_that_answer(server: FakeLambda) -> None:
    """No endless re-runs: alone in its invocation, the runner's "deadline" stands (spec's error policy)."""

    def behaviour(event: Any) -> Reply:
        reply = fake_runner(event)
        reply["results"][0].update(status="error", reason="deadline: no time")
        return 200, {}, json.dumps(reply).encode()

    server.behaviour = behaviour
    (result,) = run(jobs(["PASS"]))["results"]
    assert (result["status"], result["reason"]) == ("error", "deadline: no time")
    assert len(server.requests) == 1


# --- the real runner ---------------------------------------------------------------------------------------------


def test_the_real_runner_through_the_wire(server: FakeLambda) -> None:
    """code_runner.handler.lambda_handler behind the Invoke API: a right and a wrong program."""
    server.behaviour = runner_handler
    request = jobs(["def f(n):\n    return n\n", "def f(n):\n    return -1\n"], tests=3)
    result = run(request, max_parallel=2, deadline=time.monotonic() + 120)
    assert [(r["status"], r["passed"], r["total"]) for r in result["results"]] == [("ok", 3, 3), ("ok", 0, 3)]
