"""A real HTTP server on 127.0.0.1 that speaks Lambda's Invoke API, shared by the tests that invoke a
"deployed" reward function (the job starter's preflight, `rft invoke`, `rft score --remote`).

boto3 pointed at it with ``AWS_ENDPOINT_URL_LAMBDA`` signs, serializes and parses real requests. By default
it answers with the real ``reward.handler.lambda_handler``; tests swap ``behaviour`` to script failures.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")

Reply = tuple[int, dict[str, str], bytes]  # HTTP status, extra headers, body


def real_handler(event: object) -> Reply:
    """What the deployed function returns: reward.handler.lambda_handler's reply (spec from REWARD_SPEC)."""
    from reward.handler import lambda_handler

    return 200, {}, json.dumps(lambda_handler(event, None)).encode()


class FakeLambda(ThreadingHTTPServer):
    """Lambda's Invoke API (POST /2015-03-31/functions/<name>/invocations) on 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _InvokeHandler)
        self.behaviour: Callable[[object], Reply] = real_handler
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
def running_lambda() -> Iterator[FakeLambda]:
    """Start a FakeLambda in a background thread; stop it on exit."""
    server = FakeLambda()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
