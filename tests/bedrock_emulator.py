"""A Bedrock Runtime emulator: a real HTTP server on 127.0.0.1 that speaks ``Converse``'s wire format.

``POST /model/{modelId}/converse`` with AWS's restJson protocol, as in botocore's
``bedrock-runtime/2023-09-30/service-2.json``: a JSON body ``{"output": {"message": {"role", "content":
[{"toolUse": {"toolUseId", "name", "input"}} | {"text"}]}}, "stopReason", "usage": {"inputTokens",
"outputTokens", "totalTokens"}, "metrics": {"latencyMs"}}``; errors as a status code, an
``x-amzn-ErrorType`` header and a JSON ``{"message"}`` body. ``bedrock_emulator()`` points boto3 at it
(``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, dummy credentials, a region), so the judge's requests are really
signed, serialized, sent and parsed.

What the judge model does is scripted by ``Script`` (mutable while the server runs):
- ``judge``: ``honest`` (grades the fenced response by token F1 with the fenced reference, floored onto
  the scale: only a reply matching the reference gets the top label),
  ``gullible`` (honest, except that it gives the top label on every criterion when it sees an instruction
  to the grader *outside* the properly nonce-fenced blocks — so only the fencing protects the grader),
  ``malformed`` (a tool call with a broken verdict), ``off_scale`` (a label not on the scale),
  ``missing_criterion``, ``refusal`` (``stopReason``: ``refusal_stop``, default content_filtered),
  ``truncated`` (a JSON verdict cut off, ``stopReason: max_tokens``), ``prose`` (text, no verdict),
  ``text_json`` (the verdict as JSON text instead of a tool call), ``hang`` (never answers until shutdown);
- ``latency_s``, ``slow_every``/``slow_first``/``slow_s``: fixed latency, and every k-th (or the first n)
  requests slower;
- ``throttle_fraction``: exactly that fraction of requests answered ``ThrottlingException`` (429),
  deterministically spread (request n is throttled when ``floor((n+1)f) > floor(nf)``);
- ``quota_per_s``: an account quota shared by every caller — a token bucket refilled at that many
  requests per second, holding ``quota_burst_s`` seconds' worth (default 1 s; full at start): a request
  that finds a token is admitted (then takes ``latency_s``), any other is answered ``ThrottlingException``
  (429) at once. ``Emulator.admitted`` / ``Emulator.throttled`` count them;
- ``error``: every request fails with that AWS error (``AccessDeniedException``, ``ValidationException``...);
- ``reject_tool_choice``: a forced ``toolChoice`` gets a ValidationException (models that lack it);
- ``server_error_fraction``: that fraction of requests answered ``InternalServerException`` (500) or
  ``ServiceUnavailableException`` (503), alternating, spread like the throttles;
- ``labeller``: a planted judge (a function of model id, rubric, fenced response and reference that
  returns each criterion's label): judges with a known agreement or a known bias (tests/test_judge_check.py);
- ``policies``: model id -> ``Policy``. A request to a model in it is answered by that *policy model*
  (with text, or with ``toolUse`` blocks and ``stopReason: tool_use`` when the answer is a content list;
  a ``toolUse`` answer to a request without ``toolConfig`` is a ValidationException)
  instead of the judge: for each prompt (the last user turn) a known probability of answering correctly,
  drawn from a per-(model, prompt) seeded stream, so each prompt's k answers are the same set whatever
  order concurrent requests arrive in. A base id and a deployment ARN are simply two entries with
  different probabilities. With ``policies`` set, any other model id gets a ValidationException (as
  Bedrock answers an unknown model).

Every request is recorded (``Emulator.requests``): model id from the URL, the parsed body, and headers.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

#: Status code of each AWS error the emulator can answer (botocore's service model agrees).
ERROR_STATUS = {
    "ThrottlingException": 429,
    "ServiceUnavailableException": 503,
    "ValidationException": 400,
    "ModelTimeoutException": 408,
    "InternalServerException": 500,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelNotReadyException": 429,
    "ModelErrorException": 424,
}
#: What makes the gullible judge give the top label when it is outside the fences.
GULLIBLE_TRIGGERS = (
    "maximum score",
    "ignore the rubric",
    "ignore previous instructions",
    "top grade",
    "top label",
    "full marks",
    "perfect score",
    "grader",
    "evaluator",
    "system:",
)
_PATH = re.compile(r"^/model/(?P<model>[^/]+)/converse$")
_TOKEN = re.compile(r"\w+")
_OPEN = re.compile(r"<(prompt|response|reference)-([0-9a-f]{8,})>")


@dataclass
class Policy:
    """A policy model: per prompt (its last user text) the probability of a correct answer, and the
    correct and wrong answers it gives. Unknown prompts use ``default_p`` and generic answers."""

    p_correct: dict[str, float]
    right: dict[str, Any]  # prompt -> the answer: text, or Converse content blocks (e.g. toolUse)
    wrong: dict[str, Any]
    seed: int = 0
    default_p: float = 0.0
    _streams: dict[str, random.Random] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    answered: Counter = field(default_factory=Counter, repr=False)  # prompt -> ok answers given

    def answer(self, prompt: str) -> tuple[Any, bool]:
        """(answer, correct) for the next answer to ``prompt``: text, or a list of Converse content blocks
        (``[{"toolUse": {...}}]``: the reply then stops with ``tool_use``)."""
        with self._lock:
            stream = self._streams.setdefault(prompt, random.Random(f"{self.seed}|{prompt}"))
            correct = stream.random() < self.p_correct.get(prompt, self.default_p)
            self.answered[prompt] += 1
        table = self.right if correct else self.wrong
        return table.get(prompt, "I am not sure.\n#### 0" if not correct else "#### 1"), correct


@dataclass
class Script:
    """How the emulated judge behaves (tests change it between batches)."""

    judge: str = "honest"
    filter_on: str = ""  # a content filter: stopReason content_filtered when the judged text contains it
    latency_s: float = 0.0
    slow_every: int = 0
    slow_s: float = 0.0
    slow_first: int = 0  # the first n requests are slow too
    throttle_fraction: float = 0.0
    error: str | None = None
    error_message: str = ""  # the message of the scripted error (default: "scripted <error>")
    refusal_stop: str = "content_filtered"  # the stopReason of judge="refusal"
    reject_tool_choice: bool = False
    server_error_fraction: float = 0.0
    policies: dict[str, Policy] = field(default_factory=dict)
    quota_per_s: float = 0.0  # 0: no shared quota
    quota_burst_s: float = 1.0
    #: A planted judge: ``(model_id, criteria, scale, response, reference) -> {criterion: label}``; when set,
    #: it decides every verdict (the ``judge`` modes above still shape errors, refusals and malformed replies).
    labeller: Callable[[str, list[str], list[str], str, str | None], dict[str, str]] | None = None


@dataclass
class Recorded:
    """One request as the emulator received it."""

    model_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    answered: str = ""  # "ok", or the error code sent back

    @property
    def user_text(self) -> str:
        return "".join(b.get("text", "") for m in self.body.get("messages", []) for b in m.get("content", []))

    @property
    def system_text(self) -> str:
        return "".join(b.get("text", "") for b in self.body.get("system", []))


@dataclass
class Emulator:
    url: str
    script: Script
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)
    _count: int = 0
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests the server held at once
    admitted: int = 0  # requests the shared quota let through (quota_per_s)
    throttled: int = 0  # requests the shared quota refused
    _tokens: float | None = None
    _refilled: float = 0.0

    def admit(self, rate: float, burst_s: float) -> bool:
        """Take a token from the shared quota's bucket (``rate`` per second, ``rate * burst_s`` at most)."""
        with self._lock:
            now = time.monotonic()
            capacity = max(1.0, rate * burst_s)
            if self._tokens is None:
                self._tokens = capacity
            else:
                self._tokens = min(capacity, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.admitted += 1
                return True
            self.throttled += 1
            return False

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def next_index(self) -> int:
        with self._lock:
            n = self._count
            self._count += 1
            return n

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def answered(self, what: str) -> list[Recorded]:
        return [r for r in self.requests if r.answered == what]


# ------------------------------------------------------------------ reading the judge's request


def fenced_blocks(text: str) -> tuple[dict[str, str], str]:
    """The properly fenced blocks of ``text`` by name (``<name-nonce>`` up to the first
    ``</name-nonce>`` with the same nonce) and the text outside all of them."""
    blocks: dict[str, str] = {}
    outside = []
    pos = 0
    while True:
        match = _OPEN.search(text, pos)
        if match is None:
            outside.append(text[pos:])
            break
        name, nonce = match.group(1), match.group(2)
        close = f"</{name}-{nonce}>"
        end = text.find(close, match.end())
        if end < 0:  # never closed: the rest is inside
            outside.append(text[pos : match.start()])
            blocks.setdefault(name, text[match.end() :])
            break
        outside.append(text[pos : match.start()])
        blocks.setdefault(name, text[match.end() : end])
        pos = end + len(close)
    return blocks, "".join(outside)


def rubric_of(body: dict[str, Any], system: str) -> tuple[list[str], list[str]]:
    """(criteria names, scale labels) from the tool's input schema, else from the system prompt."""
    for tool in (body.get("toolConfig") or {}).get("tools", []):
        schema = tool.get("toolSpec", {}).get("inputSchema", {}).get("json", {})
        names = list(schema.get("properties", {}))
        if names:
            return names, list(schema["properties"][names[0]]["properties"]["verdict"]["enum"])
    names = re.findall(r"^- ([a-z][a-z0-9_]*): ", system, re.MULTILINE)
    scale_line = re.search(r"from worst to best: (.*)\.$", system, re.MULTILINE)
    scale = re.findall(r'"([^"]+)"', scale_line.group(1)) if scale_line else []
    return names, scale


def honest_index(response: str, reference: str | None, n: int) -> int:
    """The honest judge's label index: token F1 of the response with the reference answer on the scale,
    the top label only for a reply that matches the reference (F1 >= 0.995); on a two-label scale, the
    better label from F1 0.3. Tokens are compared as written (no Unicode folding), so look-alike digits
    do not pass for the real ones."""
    if reference is None:
        return n // 2
    answer = re.search(r"^answer:(?: (.*)$|\n((?:(?:  .*)?\n?)*))", reference, re.MULTILINE)
    if answer:  # a rendered reference object: grade against its reply, not the facts around it
        reference = answer.group(1) or answer.group(2)
    f1 = _raw_f1(response, reference)
    if n == 2:  # a pass/fail criterion (e.g. safe/unsafe): passes when the reply is on the reference's topic
        return int(f1 >= 0.3)
    index = round(f1 * (n - 1))
    return n - 2 if index == n - 1 and f1 < 0.995 else index


def _raw_f1(candidate: str, reference: str) -> float:
    cand, ref = _TOKEN.findall(candidate.casefold()), _TOKEN.findall(reference.casefold())
    overlap = sum((Counter(cand) & Counter(ref)).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / len(cand), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def gullible(outside: str) -> bool:
    lowered = outside.lower()
    return any(t in lowered for t in GULLIBLE_TRIGGERS)


def verdict_for(
    script: Script, body: dict[str, Any], model_id: str = ""
) -> tuple[dict[str, Any] | None, str, str]:
    """(verdict object or None, stopReason, text) the scripted judge answers with."""
    system = "".join(b.get("text", "") for b in body.get("system", []))
    user = "".join(b.get("text", "") for m in body.get("messages", []) for b in m.get("content", []))
    names, scale = rubric_of(body, system)
    blocks, outside = fenced_blocks(user)
    response = blocks.get("response", user)  # an unfenced judge sees the whole message as the response
    top = len(scale) - 1
    if script.judge == "refusal" or (script.filter_on and script.filter_on in user):
        return None, script.refusal_stop, "The generated text has been blocked by our content filters."
    if script.judge == "truncated":  # the verdict cut off at maxTokens, mid-reason
        first = names[0] if names else "x"
        return None, "max_tokens", '{"' + first + '": {"reason": "The reply gets the'

    if script.judge == "prose":
        return None, "end_turn", "I think this response is pretty good overall."
    if script.judge == "gullible" and (gullible(outside) or "response" not in blocks):
        index = top
    else:
        index = honest_index(response, blocks.get("reference"), len(scale))
    verdict: dict[str, Any] = {
        n: {"reason": f"overlap-based verdict for {n}", "verdict": scale[index]} for n in names
    }
    if script.labeller is not None:
        fenced = blocks.get("response")
        labels = script.labeller(
            model_id,
            names,
            scale,
            response if fenced is None else fenced.strip("\n"),
            blocks.get("reference"),
        )
        verdict = {n: {"reason": f"planted verdict for {n}", "verdict": labels[n]} for n in names}
    if script.judge == "malformed":
        verdict = {n: {"reason": "looks fine", "score": 5} for n in names}
    elif script.judge == "off_scale":
        verdict = {n: {"reason": "top", "verdict": "10/10"} for n in names}
    elif script.judge == "missing_criterion" and names:
        verdict.pop(names[-1])
    return verdict, "tool_use", ""


# ------------------------------------------------------------------ the HTTP server


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _send(self, status: int, payload: dict[str, Any], error: str | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", f"req-{time.monotonic_ns()}")
            if error:
                self.send_header(
                    "x-amzn-ErrorType", f"{error}:http://internal.amazon.com/coral/com.amazon.bedrock/"
                )
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (read timeout): fine
                self.close_connection = True

        def _error(self, rec: Recorded | None, code: str, message: str) -> None:
            if rec is not None:
                rec.answered = code
            self._send(ERROR_STATUS[code], {"message": message}, code)

        def do_POST(self) -> None:
            emulator.enter()
            try:
                self._converse()
            finally:
                emulator.leave()

        def _converse(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            match = _PATH.match(self.path)
            if match is None:
                self._error(None, "ResourceNotFoundException", f"no such operation: {self.path}")
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._error(None, "ValidationException", "body is not JSON")
                return
            rec = Recorded(
                unquote(match.group("model")), body, {k.lower(): v for k, v in self.headers.items()}
            )
            emulator.record(rec)
            n = emulator.next_index()
            script = emulator.script
            started = time.monotonic()
            if script.judge == "hang":
                emulator._closing.wait(120)
                rec.answered = "hang"
                self.close_connection = True
                return
            if script.quota_per_s and not emulator.admit(script.quota_per_s, script.quota_burst_s):
                self._error(rec, "ThrottlingException", "Too many requests, please wait before trying again.")
                return
            slow = n < script.slow_first or (script.slow_every and (n + 1) % script.slow_every == 0)
            delay = script.latency_s + (script.slow_s if slow else 0.0)
            if delay:
                time.sleep(delay)
            if script.error:
                self._error(rec, script.error, script.error_message or f"scripted {script.error}")
                return
            f = script.throttle_fraction
            if f and math.floor((n + 1) * f) > math.floor(n * f):
                self._error(rec, "ThrottlingException", "Too many requests, please wait before trying again.")
                return
            g = script.server_error_fraction
            if g and math.floor((n + 1) * g) > math.floor(n * g):
                code = "InternalServerException" if n % 2 == 0 else "ServiceUnavailableException"
                self._error(rec, code, "scripted server error")
                return
            if script.policies:
                self._policy_answer(rec, script, started)
                return
            if script.reject_tool_choice and "toolChoice" in (body.get("toolConfig") or {}):
                self._error(rec, "ValidationException", "This model doesn't support the toolChoice field.")
                return
            verdict, stop_reason, text = verdict_for(script, body, rec.model_id)
            if verdict is not None and (script.judge == "text_json" or "toolConfig" not in body):
                content = [{"text": json.dumps(verdict)}]
                stop_reason = "end_turn"
            elif verdict is not None:
                content = [
                    {"toolUse": {"toolUseId": f"tooluse_{n}", "name": "record_verdict", "input": verdict}}
                ]
            else:
                content = [{"text": text}]
            input_tokens = len((rec.system_text + rec.user_text).split())
            output_tokens = len(json.dumps(content).split())
            rec.answered = "ok"
            self._send(
                200,
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": stop_reason,
                    "usage": {
                        "inputTokens": input_tokens,
                        "outputTokens": output_tokens,
                        "totalTokens": input_tokens + output_tokens,
                    },
                    "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)},
                },
            )

        def _policy_answer(self, rec: Recorded, script: Script, started: float) -> None:
            policy = script.policies.get(rec.model_id)
            if policy is None:
                self._error(rec, "ValidationException", "The provided model identifier is invalid.")
                return
            turns = [m for m in rec.body.get("messages", []) if m.get("role") == "user"]
            prompt = "".join(b.get("text", "") for b in turns[-1].get("content", [])) if turns else ""
            answer, _ = policy.answer(prompt)
            content = answer if isinstance(answer, list) else [{"text": answer}]
            uses = [b for b in content if "toolUse" in b]
            if uses and "toolConfig" not in rec.body:  # Bedrock: a toolUse needs the tools declared
                self._error(rec, "ValidationException", "toolConfig is required to answer with toolUse.")
                return
            input_tokens = len((rec.system_text + rec.user_text).split())
            output_tokens = len((answer if isinstance(answer, str) else json.dumps(content)).split())
            rec.answered = "ok"
            self._send(
                200,
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": "tool_use" if uses else "end_turn",
                    "usage": {
                        "inputTokens": input_tokens,
                        "outputTokens": output_tokens,
                        "totalTokens": input_tokens + output_tokens,
                    },
                    "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)},
                },
            )

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A judge batch opens up to ``concurrency`` connections at once; with the default listen backlog (5)
    # the kernel drops the surplus SYNs and those clients stall for a 1 s SYN retransmit.
    request_queue_size = 256


_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEMULATOR",
    "AWS_SECRET_ACCESS_KEY": "emulator-secret",
    "AWS_SESSION_TOKEN": "emulator-token",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def bedrock_emulator(script: Script | None = None) -> Iterator[Emulator]:
    """Run the emulator and point boto3 at it (env vars restored, judge client and cache reset after)."""
    from reward.judge import runtime as judge_runtime

    server = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    emulator = Emulator(url=f"http://127.0.0.1:{server.server_address[1]}", script=script or Script())
    server.RequestHandlerClass = _handler_for(emulator)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="bedrock-emulator", daemon=True
    )
    thread.start()
    env = {**_ENV, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url}
    saved = {k: os.environ.get(k) for k in [*env, "AWS_PROFILE"]}
    os.environ.update(env)
    os.environ.pop("AWS_PROFILE", None)
    judge_runtime.reset()
    try:
        yield emulator
    finally:
        emulator._closing.set()
        server.shutdown()
        server.server_close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        judge_runtime.reset()
