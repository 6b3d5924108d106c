"""Lambda's Runtime API on 127.0.0.1: the server side of what AWS's runtime interface client talks to.

A function's runtime (in Python: ``awslambdaric``, AWS's own client, the one the managed runtime uses) polls
``GET /2018-06-01/runtime/invocation/next`` for an event, calls the handler, and posts the handler's result
to ``.../invocation/<request id>/response`` (or ``.../error``); a failure while importing the handler goes to
``/2018-06-01/runtime/init/error``. Endpoints and headers as in the Lambda developer guide, "Using the Lambda
runtime API for custom runtimes":

- ``next`` answers with the event as the body and ``Lambda-Runtime-Aws-Request-Id``,
  ``Lambda-Runtime-Deadline-Ms`` (epoch milliseconds), ``Lambda-Runtime-Invoked-Function-Arn`` and
  ``Lambda-Runtime-Trace-Id``; it blocks until an event is queued (as Lambda does between invocations);
- ``response``, ``error`` and ``init/error`` answer ``202 Accepted`` and are recorded here.

``invoke(event)`` queues an event and waits for what the runtime posts back for it.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
_RESULT = re.compile(rf"{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)")


@dataclass
class Posted:
    """What the runtime posted for one invocation (or for init): ``kind`` is response, error or init/error."""

    kind: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    posted: Posted | None = None


class RuntimeApi(ThreadingHTTPServer):
    """The Runtime API of one function instance. ``address`` goes into ``AWS_LAMBDA_RUNTIME_API``."""

    daemon_threads = True

    def __init__(self, function_arn: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.function_arn = function_arn
        self.pending: queue.Queue[_Invocation] = queue.Queue()
        self.invocations: dict[str, _Invocation] = {}
        self.init_errors: list[Posted] = []
        self.init_error_seen = threading.Event()
        #: How many times the runtime asked for the next event (its first ask ends the init phase).
        self.next_calls = 0
        self.lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def invoke(self, event: Any, *, timeout_ms: int = 300_000, wait_s: float = 300.0) -> Posted | None:
        """Queue ``event`` (JSON-serialized, as Lambda sends it) and return what the runtime posts for it.

        ``timeout_ms`` is the function's remaining time at the start (``Lambda-Runtime-Deadline-Ms``);
        ``wait_s`` only bounds how long the test waits for a runtime that died (None when it never answered).
        """
        invocation = _Invocation(
            request_id=str(uuid.uuid4()),
            event=json.dumps(event).encode(),
            deadline_ms=int(time.time() * 1000) + timeout_ms,
        )
        with self.lock:
            self.invocations[invocation.request_id] = invocation
        self.pending.put(invocation)
        invocation.done.wait(wait_s)
        return invocation.posted


class _Handler(BaseHTTPRequestHandler):
    server: RuntimeApi
    protocol_version = "HTTP/1.1"  # the client keeps its connection open between calls

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not traffic
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorType": "NotFound"}')
            return
        with self.server.lock:
            self.server.next_calls += 1
        invocation = self.server.pending.get()  # blocks, like Lambda between invocations
        self._reply(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            },
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path == f"{PREFIX}/init/error":
            with self.server.lock:
                self.server.init_errors.append(Posted("init/error", body, headers))
            self.server.init_error_seen.set()
            self._reply(202, b'{"status": "OK"}')
            return
        match = _RESULT.fullmatch(self.path)
        invocation = self.server.invocations.get(match.group("id")) if match else None
        if invocation is None:
            self._reply(404, b'{"errorType": "InvalidRequestID"}')
            return
        invocation.posted = Posted(match.group("kind"), body, headers)
        self._reply(202, b'{"status": "OK"}')
        invocation.done.set()


@contextmanager
def runtime_api(function_arn: str) -> Iterator[RuntimeApi]:
    """A running Runtime API server; shut down (its blocked ``next`` calls abandoned) on exit."""
    server = RuntimeApi(function_arn)
    thread = threading.Thread(target=server.serve_forever, name="runtime-api", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
