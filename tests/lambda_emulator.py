"""A real HTTP server on 127.0.0.1 that speaks Lambda's Invoke API, shared by the tests that invoke a
"deployed" function: the reward Lambda (the job starter's preflight, `rft invoke`, `rft score --remote`) and
the code runner (`reward.code_remote`).

boto3 pointed at it with ``AWS_ENDPOINT_URL_LAMBDA`` signs, serializes and parses real requests. By default
it answers like the reward function with no spec bundled (a failed invocation); ``reward_function(spec)`` is
the real grading of ``reward.grading.grade_event`` with that spec, and tests swap ``behaviour`` to script
failures.
``runner_handler`` answers like the code-runner Lambda (the real ``code_runner.handler.lambda_handler`` when
that package is importable, else ``fake_runner``); ``function_error`` and ``service_error`` build the
replies Lambda sends when the function crashed or the service refused the call.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

from reward.spec import Spec

INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")

Reply = tuple[int, dict[str, str], bytes]  # HTTP status, extra headers, body


def reward_function(spec: Spec | Path | str) -> Callable[[object], Reply]:
    """What the reward function deployed with ``spec`` returns: ``reward.grading.grade_event``'s reply, the
    very call ``reward.handler.lambda_handler`` makes with the bundled spec (no Lambda context: the
    default batch deadline)."""
    from reward.grading import grade_event
    from reward.spec import load_spec

    loaded = spec if isinstance(spec, Spec) else load_spec(Path(spec))

    def reply(event: object) -> Reply:
        return 200, {}, json.dumps(grade_event(loaded, event)).encode()

    return reply


def no_spec(event: object) -> Reply:
    """A reward function whose spec did not load: the invocation fails at init, as Lambda reports it."""
    return function_error(
        "Runtime.Unknown", "RuntimeError: the test deployed no spec (reward_function(spec))"
    )


def runner_available() -> bool:
    """True when the real sandbox runner package (lambda_src/code_runner) is importable."""
    try:
        import code_runner.handler  # noqa: F401
    except ImportError:
        return False
    return True


def fake_runner(event: object) -> dict:
    """A stand-in for the code runner that speaks its protocol: a job passes every test when its program
    contains ``PASS``, none otherwise. For tests of the transport, not of sandboxing."""
    assert isinstance(event, dict) and event.get("version") == 1, event
    results = []
    for job in event["jobs"]:
        total = len(job.get("tests") or []) or 1
        passed = total if "PASS" in job.get("program", "") else 0
        results.append(
            {"id": job["id"], "status": "ok", "passed": passed, "total": total, "tests": [], "reason": ""}
        )
    return {"version": 1, "results": results}


def runner_handler(event: object) -> Reply:
    """What the deployed code runner returns for `event` (real runner if present, else `fake_runner`)."""
    if runner_available():
        from code_runner.handler import lambda_handler

        return 200, {}, json.dumps(lambda_handler(event, None)).encode()
    return 200, {}, json.dumps(fake_runner(event)).encode()


def function_error(error_type: str, message: str) -> Reply:
    """The invocation ran but the function did not return (crash, timeout, out of memory): Lambda answers
    200 with ``X-Amz-Function-Error`` and the error object as the payload."""
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    return 200, {"X-Amz-Function-Error": "Unhandled"}, body


def service_error(status: int, code: str, message: str = "") -> Reply:
    """Lambda refused the call (throttled, access denied, no such function, ...): a rest-json error."""
    body = json.dumps({"Type": "User" if status < 500 else "Service", "message": message or code}).encode()
    return status, {"x-amzn-ErrorType": code}, body


class FakeLambda(ThreadingHTTPServer):
    """Lambda's Invoke API (POST /2015-03-31/functions/<name>/invocations) on 127.0.0.1."""

    # The default backlog (5) drops connection attempts when a fan-out opens 16 at once; the client then
    # waits a second for TCP to retry. Lambda's endpoint takes them all.
    request_queue_size = 128
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _InvokeHandler)
        self.behaviour: Callable[[object], Reply] = no_spec
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _InvokeHandler(BaseHTTPRequestHandler):
    server: FakeLambda

    def do_POST(self) -> None:
        match = INVOKE_PATH.fullmatch(urlparse(self.path).path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not match:
            status, headers, payload = 404, {"x-amzn-ErrorType": "UnknownOperationException"}, b"{}"
        else:
            event = json.loads(body)
            with self.server.lock:
                self.server.requests.append(
                    {
                        "function": unquote(match.group("name")),
                        "invocation_type": self.headers.get("X-Amz-Invocation-Type"),
                        "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"),
                        "event": event,
                    }
                )
            status, headers, payload = self.server.behaviour(event)
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@contextmanager
def running_lambda(spec: Spec | Path | str | None = None) -> Iterator[FakeLambda]:
    """Start a FakeLambda in a background thread (the reward function deployed with ``spec``, when given);
    stop it on exit."""
    server = FakeLambda()
    if spec is not None:
        server.behaviour = reward_function(spec)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
