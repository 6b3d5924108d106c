"""Sample k responses per prompt from a Bedrock model: requests, an on-disk cache, the sampler, the cost
estimate and its confirmation. ``rft baseline`` and ``rft eval`` are built on this module.

The pieces, in the order a run uses them:

1. ``build_requests(rows, model_id, settings, k)`` -> one ``SampleRequest`` per (prompt, sample index),
   each with a ``key``: a SHA-256 of the model id, the inference settings, the Converse messages and the
   sample index. The key is what makes a run resumable and a rerun free.
2. ``ResponseCache(directory)``: an append-only JSONL file (``responses.jsonl``) of successful responses by
   key, flushed after every response. A run that is interrupted (Ctrl-C, a crash, a kill -9 that cuts the
   last line in half) loses at most the responses in flight; the next run reads what is there, skips a
   torn last line, and calls only for the keys still missing. Failed calls are never cached (a rerun
   retries them).
3. ``estimate(...)`` / ``confirm(...)``: calls, tokens and price (``rft.prices``) before the first call.
4. A ``Sampler`` answers the missing requests. **The interface a second backend implements**::

       class Sampler(Protocol):
           name: str
           def sample(self, requests: Sequence[SampleRequest],
                      on_response: Callable[[SampleResponse], None]) -> Usage: ...

   ``sample`` must call ``on_response`` once for every request it finished (``status`` ``"ok"`` with the
   text, or ``"failed"`` with ``error``; the caller caches the ok ones at once, so report each as soon as
   it is known), may return before answering all of them only by raising, raises ``SamplingAborted``
   (a ``CliError``) for a failure that every request would share (access denied, unknown model, no
   credentials), and returns the ``Usage`` it spent. ``SampleRequest.converse_request()`` is the exact
   Converse request (``modelId``, ``system``, ``messages``, ``inferenceConfig``,
   ``additionalModelRequestFields``); a batch-inference backend writes the same body per record with
   ``recordId = request.key`` and maps its output records back by that key. ``parse_converse_reply`` reads a
   Converse reply (``output.message.content`` text blocks, ``stopReason``, ``usage``) into a response.
   ``RuntimeSampler`` is the on-demand backend: Bedrock Runtime ``Converse`` through
   ``reward.bedrock_runtime`` (the judge's client, pool and retry loop: bounded concurrency, capped
   exponential backoff with full jitter on throttling, 5xx and timeouts).
5. ``sample_all(requests, sampler, cache, progress)`` ties them together and returns every response.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from reward import bedrock_runtime
from reward.bedrock_runtime import CallFailed, Usage
from rft import prices
from rft.errors import EXIT_FAILURE, EXIT_USAGE, CliError
from rft.rows import Row
from rft.ui import isatty

CACHE_FILE = "responses.jsonl"
CACHE_VERSION = 1
REASONING_EFFORTS = ("none", "low", "medium", "high")
#: Converse fields Nova 2 rejects at ``high`` reasoning effort (from public client code, not from AWS's
#: documentation: we leave them out at ``high`` so the call is accepted; see docs/before-and-after.md).
HIGH_EFFORT_OMITS = ("maxTokens", "temperature", "topP")


class SamplingAborted(CliError):
    """A failure every remaining call would share (access denied, unknown model, no credentials)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


# --------------------------------------------------------------------------------------------------
# Requests and responses.


@dataclass(frozen=True)
class InferenceSettings:
    """How each response is generated; mirrors the training job's ``inference_max_tokens`` and
    ``reasoning_effort``. ``temperature`` ``None`` leaves the model's default (what RFT samples with is not
    documented)."""

    max_tokens: int
    reasoning_effort: str = "none"
    temperature: float | None = None

    def __post_init__(self) -> None:
        if self.reasoning_effort not in REASONING_EFFORTS:
            raise CliError(
                f"--reasoning-effort {self.reasoning_effort!r}: use one of {', '.join(REASONING_EFFORTS)}"
            )
        if self.max_tokens < 1:
            raise CliError(f"--max-tokens {self.max_tokens}: must be >= 1")
        if self.temperature is not None and not 0.0 <= self.temperature <= 1.0:
            raise CliError(f"--temperature {self.temperature}: must be between 0 and 1")

    def converse_fields(self) -> dict[str, Any]:
        """``inferenceConfig`` and ``additionalModelRequestFields`` of the Converse request.

        Reasoning (documented for Nova 2 Lite): ``additionalModelRequestFields = {"reasoningConfig":
        {"type": "enabled", "maxReasoningEffort": "low"|"medium"|"high"}}``; off (the default) when absent.
        """
        config: dict[str, Any] = {"maxTokens": self.max_tokens}
        if self.temperature is not None:
            config["temperature"] = self.temperature
        fields: dict[str, Any] = {}
        if self.reasoning_effort != "none":
            fields["additionalModelRequestFields"] = {
                "reasoningConfig": {"type": "enabled", "maxReasoningEffort": self.reasoning_effort}
            }
            if self.reasoning_effort == "high":
                config = {k: v for k, v in config.items() if k not in HIGH_EFFORT_OMITS}
        if config:
            fields["inferenceConfig"] = config
        return fields

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SampleRequest:
    """Sample ``sample_index`` of prompt ``prompt_index`` (a dataset row) from ``model_id``."""

    key: str
    model_id: str
    prompt_index: int
    sample_index: int
    system: tuple[str, ...]
    messages: tuple[tuple[str, str], ...]  # (role, text), user/assistant turns in order
    settings: InferenceSettings
    #: The row's tools as Converse ``toolConfig`` JSON ("" when the row declares none): docs/tool-calling.md.
    tool_config: str = ""

    def converse_request(self) -> dict[str, Any]:
        """The keyword arguments of ``bedrock-runtime`` ``converse`` for this sample."""
        request: dict[str, Any] = {
            "modelId": self.model_id,
            "messages": [{"role": role, "content": [{"text": text}]} for role, text in self.messages],
            **self.settings.converse_fields(),
        }
        if self.system:
            request["system"] = [{"text": text} for text in self.system]
        if self.tool_config:
            request["toolConfig"] = json.loads(self.tool_config)
        return request

    @property
    def prompt_chars(self) -> int:
        return sum(len(t) for t in self.system) + sum(len(t) for _, t in self.messages)


@dataclass(frozen=True)
class SampleResponse:
    """What the model answered (``status`` ``ok``), or why no answer came (``failed``, ``error``)."""

    key: str
    text: str = ""
    status: str = "ok"
    stop_reason: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    error: str = ""
    cached: bool = False
    #: The reply's Converse ``toolUse`` blocks (``{"toolUse": {"toolUseId", "name", "input"}}``), in order.
    tool_uses: tuple[Mapping[str, Any], ...] = ()

    def record(self) -> dict[str, Any]:
        record = {
            "v": CACHE_VERSION,
            "key": self.key,
            "text": self.text,
            "stop_reason": self.stop_reason,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }
        if self.tool_uses:
            record["tool_uses"] = list(self.tool_uses)
        return record

    def message(self) -> dict[str, Any]:
        """The reply as the last message of the reward Lambda's event: text, or Converse content blocks
        (text and ``toolUse``) when the model called a tool — the shape ``reward.tool_calls`` reads."""
        if not self.tool_uses:
            return {"role": "assistant", "content": self.text}
        text = [{"text": self.text}] if self.text else []
        return {"role": "assistant", "content": [*text, *self.tool_uses]}


def _text_of(content: Any) -> str:
    """A dataset message's content: a string, or Converse-style ``[{"text": ...}, ...]`` blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping))
    return ""


def conversation(row: Row) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(system texts, user/assistant turns) of a dataset row, in order."""
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    for message in row.record.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        role, text = message.get("role"), _text_of(message.get("content"))
        if role == "system":
            system.append(text)
        elif role in ("user", "assistant"):
            turns.append((str(role), text))
    return tuple(system), tuple(turns)


def cache_key(
    model_id: str,
    settings: InferenceSettings,
    system: Sequence[str],
    messages: Sequence[tuple[str, str]],
    sample_index: int,
    tool_config: str = "",
) -> str:
    """SHA-256 of everything that defines one sample (changing any of it is a new sample), the tools
    offered to the model included."""
    parts: list[Any] = [
        CACHE_VERSION,
        model_id,
        settings.as_dict(),
        list(system),
        [list(m) for m in messages],
        sample_index,
    ]
    if tool_config:  # appended only when present: the keys of rows without tools stay as they were
        parts.append(tool_config)
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def tool_config_of(row: Row) -> str:
    """The row's ``tools`` as Converse ``toolConfig`` JSON, "" when it has none. Raises ``CliError`` for
    malformed tools (``rft validate-data`` names the problem)."""
    if "tools" not in row.record:
        return ""
    from reward.tool_specs import ToolSpecError, converse_tool_config, read_tools

    try:
        tools = read_tools(row.record["tools"])
    except ToolSpecError as exc:
        raise CliError(f"{row.label}: {exc} (run rft validate-data)") from None
    return json.dumps(converse_tool_config(tools), sort_keys=True, ensure_ascii=False)


def build_requests(
    rows: Sequence[Row], model_id: str, settings: InferenceSettings, samples: int
) -> list[SampleRequest]:
    """``samples`` requests per row, prompt-major (row 0's samples first)."""
    requests = []
    for prompt_index, row in enumerate(rows):
        system, messages = conversation(row)
        if not messages or messages[-1][0] != "user":
            raise CliError(f"{row.label}: the conversation must end with a user turn to be sampled")
        tools = tool_config_of(row)
        for sample_index in range(samples):
            key = cache_key(model_id, settings, system, messages, sample_index, tools)
            requests.append(
                SampleRequest(key, model_id, prompt_index, sample_index, system, messages, settings, tools)
            )
    return requests


# --------------------------------------------------------------------------------------------------
# The cache.


class ResponseCache:
    """Successful responses by key, in ``<directory>/responses.jsonl`` (append-only, flushed per write)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / CACHE_FILE
        self._lock = threading.Lock()
        self._data: dict[str, SampleResponse] = {}
        self.torn_lines = 0
        if self.path.is_file():
            self._load()
        self._stream: IO[str] | None = None

    def _load(self) -> None:
        with self.path.open("r", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                try:
                    record = json.loads(line)
                    response = SampleResponse(
                        key=str(record["key"]),
                        text=str(record["text"]),
                        stop_reason=str(record.get("stop_reason", "")),
                        input_tokens=int(record.get("input_tokens") or 0),
                        output_tokens=int(record.get("output_tokens") or 0),
                        cached=True,
                        tool_uses=tuple(record.get("tool_uses") or ()),
                    )
                except (ValueError, KeyError, TypeError):
                    self.torn_lines += 1  # a write cut short by a kill: that sample is simply redone
                    continue
                self._data[response.key] = response

    def get(self, key: str) -> SampleResponse | None:
        return self._data.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def put(self, response: SampleResponse) -> None:
        """Store an ok response durably (appended and flushed before returning)."""
        if response.status != "ok":
            return
        with self._lock:
            if self._stream is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                needs_newline = (
                    self.path.is_file() and self.path.stat().st_size > 0 and not self._ends_in_newline()
                )
                self._stream = self.path.open("a", encoding="utf-8")
                if needs_newline:  # a torn last line: start ours on a fresh line
                    self._stream.write("\n")
            self._stream.write(json.dumps(response.record(), ensure_ascii=False) + "\n")
            self._stream.flush()
            self._data[response.key] = response

    def _ends_in_newline(self) -> bool:
        with self.path.open("rb") as stream:
            stream.seek(-1, os.SEEK_END)
            return stream.read(1) == b"\n"

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None


# --------------------------------------------------------------------------------------------------
# Samplers.


class Sampler(Protocol):
    """A backend that answers sample requests (see the module docstring for the contract)."""

    name: str

    def sample(
        self, requests: Sequence[SampleRequest], on_response: Callable[[SampleResponse], None]
    ) -> Usage: ...


def parse_converse_reply(key: str, reply: Mapping[str, Any]) -> SampleResponse:
    """A Converse reply as a response: the text blocks joined (reasoning blocks left out), stopReason,
    token usage. Raises ``ValueError`` when the reply has no message (retried once by the caller)."""
    message = (reply.get("output") or {}).get("message")
    if not isinstance(message, Mapping):
        raise ValueError("the reply has no output.message")
    text = "".join(
        str(block["text"])
        for block in message.get("content") or ()
        if isinstance(block, Mapping) and "text" in block
    )
    usage = reply.get("usage") or {}
    return SampleResponse(
        key=key,
        text=text,
        stop_reason=str(reply.get("stopReason") or ""),
        input_tokens=int(usage.get("inputTokens") or 0),
        output_tokens=int(usage.get("outputTokens") or 0),
        tool_uses=tool_use_blocks(message.get("content")),
    )


def tool_use_blocks(content: Any) -> tuple[dict[str, Any], ...]:
    """The ``toolUse`` blocks of a Converse message's content, as JSON-ready dicts (boto3 hands back
    plain types; ``input`` is a document)."""
    if not isinstance(content, Sequence) or isinstance(content, str):
        return ()
    return tuple(
        {"toolUse": dict(block["toolUse"])}
        for block in content
        if isinstance(block, Mapping) and isinstance(block.get("toolUse"), Mapping)
    )


@dataclass
class RuntimeSampler:
    """On-demand sampling through Bedrock Runtime ``Converse`` (``reward.bedrock_runtime``)."""

    concurrency: int = 8
    max_attempts: int = 10
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    #: AWS: a Nova inference request can take up to 60 minutes; the client must wait that long.
    read_timeout_s: float = 3600.0
    sleep: Callable[[float], None] = time.sleep
    name: str = "bedrock-runtime converse"
    max_in_flight: int = field(default=0, init=False)  # observed, for tests and benchmarks

    def sample(
        self, requests: Sequence[SampleRequest], on_response: Callable[[SampleResponse], None]
    ) -> Usage:
        total = Usage()
        if not requests:
            return total
        client = bedrock_runtime.client(pool_size=self.concurrency, read_timeout_s=self.read_timeout_s)
        pool = bedrock_runtime.executor(self.concurrency)
        stop = threading.Event()
        pending = iter(requests)
        in_flight: dict[Future[tuple[SampleResponse, Usage, CallFailed | None]], SampleRequest] = {}
        fatal: CallFailed | None = None
        fatal_model = ""

        def one(request: SampleRequest) -> tuple[SampleResponse, Usage, CallFailed | None]:
            usage = Usage()
            try:
                response = bedrock_runtime.call_with_retries(
                    lambda: client.converse(**request.converse_request()),
                    usage,
                    max_attempts=self.max_attempts,
                    deadline=None,
                    backoff_base_s=self.backoff_base_s,
                    backoff_max_s=self.backoff_max_s,
                    accept=lambda reply: parse_converse_reply(request.key, reply),
                    stop=stop.is_set,
                    sleep=self.sleep,
                    unreachable_is_fatal=True,  # no route to Bedrock: say so now, not after minutes
                )
            except CallFailed as exc:
                failed = SampleResponse(request.key, status="failed", error=str(exc)[:500])
                return failed, usage, exc if exc.kind == "fatal" else None
            return response, usage, None

        def fill() -> None:
            while len(in_flight) < self.concurrency and not stop.is_set():
                request = next(pending, None)
                if request is None:
                    return
                in_flight[pool.submit(one, request)] = request
            self.max_in_flight = max(self.max_in_flight, len(in_flight))

        try:
            fill()
            while in_flight:
                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in done:
                    request = in_flight.pop(future)
                    response, usage, failure = future.result()
                    _add(total, usage)
                    if failure is not None:
                        if fatal is None:
                            fatal, fatal_model = failure, request.model_id
                        stop.set()  # every other call would fail the same way: stop sending
                        continue
                    on_response(response)
                fill()
        except BaseException:  # Ctrl-C or an error in on_response: stop sending, keep what is cached
            stop.set()
            for future in in_flight:
                if not future.cancel():  # already running: its answer is paid for, keep it when it comes
                    future.add_done_callback(_deliver_late(on_response))
            raise
        if fatal is not None:
            raise SamplingAborted(fatal_message(fatal, fatal_model))
        return total


def _deliver_late(
    on_response: Callable[[SampleResponse], None],
) -> Callable[[Future[tuple[SampleResponse, Usage, CallFailed | None]]], None]:
    """A done-callback that hands a call finishing after an interruption to ``on_response`` (which then
    only caches it): the process waits for calls in flight anyway, and each was paid for."""

    def deliver(future: Future[tuple[SampleResponse, Usage, CallFailed | None]]) -> None:
        try:
            response, _, failure = future.result()
            if failure is None and response.status == "ok":
                on_response(response)
        except BaseException:  # a late answer is a bonus: nothing may escape a done-callback
            pass

    return deliver


def _add(total: Usage, usage: Usage) -> None:
    total.calls += usage.calls
    total.throttles += usage.throttles
    total.retries += usage.retries
    total.input_tokens += usage.input_tokens
    total.output_tokens += usage.output_tokens


def fatal_message(exc: CallFailed, model: str) -> str:
    """A non-retryable failure, said so the reader knows what to change."""
    code = exc.code
    if code == "AccessDeniedException":
        return (
            f"access denied calling {model}: {exc.aws_message[:200]}. Your identity needs bedrock:InvokeModel "
            "on the model (for an inference profile: the profile and the foundation model in every region "
            "it routes to), and model access must be enabled in the Bedrock console. Responses so far are "
            "cached: rerun after fixing it."
        )
    if code in ("ValidationException", "ResourceNotFoundException"):
        return (
            f"Bedrock rejected the request to {model}: {code}: {exc.aws_message[:300]}. Check the model "
            "(--model, --base or --tuned: an inference-profile id such as us.amazon.nova-2-lite-v1:0, or an "
            "Active deployment ARN from `rft deploy-model`) and --max-tokens/--reasoning-effort."
        )
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        from rft.aws_errors import explain

        said = explain(cause, service="bedrock-runtime")
        if said is not None:  # credentials, region, an endpoint that does not answer: as every command says
            return said
    if code in ("NoCredentialsError", "PartialCredentialsError"):
        from botocore.exceptions import NoCredentialsError

        from rft.aws_errors import explain

        return explain(NoCredentialsError()) or "no AWS credentials found"
    return f"calling {model} failed: {exc}. Responses so far are cached: rerun to resume."


# --------------------------------------------------------------------------------------------------
# Cost: estimate and confirmation.


def estimate(
    model_id: str,
    todo: Sequence[SampleRequest],
    cached: int,
    settings: InferenceSettings,
    *,
    known: Iterable[SampleResponse] = (),
    price_fallback: str | None = None,
) -> prices.Estimate:
    """Tokens and price of the ``todo`` calls: prompt characters / ``CHARS_PER_TOKEN`` in, and out the mean
    of the responses already cached (else ``ASSUMED_OUTPUT_TOKENS`` for the reasoning effort), capped."""
    seen = [r.output_tokens for r in known if r.output_tokens]
    per_call_out = sum(seen) / len(seen) if seen else prices.ASSUMED_OUTPUT_TOKENS[settings.reasoning_effort]
    per_call_out = min(per_call_out, settings.max_tokens)
    input_tokens = int(sum(r.prompt_chars for r in todo) / prices.CHARS_PER_TOKEN)
    return prices.Estimate(
        model_id=model_id,
        calls=len(todo),
        cached=cached,
        input_tokens=input_tokens,
        output_tokens=int(per_call_out * len(todo)),
        max_output_tokens=settings.max_tokens * len(todo),
        price=prices.price_of(model_id, fallback_model=price_fallback),
    )


def confirm(
    estimates: Sequence[prices.Estimate],
    *,
    yes: bool,
    err: IO[str],
    stdin: IO[str] | None = None,
    quiet: bool = False,
) -> None:
    """Print the estimates; ask before spending above ``CONFIRM_ABOVE_USD`` (or an unknown price).

    Never blocks without a terminal: with calls to make, stdin not a TTY and no ``--yes`` it is a
    ``CliError`` (exit 2). Declining is a ``CliError`` too (nothing was called).
    """
    calls = sum(e.calls for e in estimates)
    if not quiet:
        for item in estimates:
            print(f"cost estimate: {item.line()}", file=err)
    if calls == 0 or yes:
        return
    stdin = stdin if stdin is not None else sys.stdin
    usd = [e.usd for e in estimates if e.calls]
    total = sum(u for u in usd if u is not None)
    unknown = any(u is None for u in usd)
    if not isatty(stdin):
        money = "an unknown price" if unknown else f"~${total:,.2f}"
        raise CliError(
            f"about to make {calls:,} Bedrock calls ({money}) and stdin is not a terminal to confirm: "
            "pass --yes to proceed",
            EXIT_USAGE,
        )
    if not unknown and total <= prices.CONFIRM_ABOVE_USD:
        return
    money = "at an unknown price" if unknown else f"for ~${total:,.2f}"
    err.write(f"make {calls:,} Bedrock calls {money}? [y/N] ")
    err.flush()
    answer = stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("not confirmed: nothing was called (pass --yes to skip this question)", EXIT_USAGE)


# --------------------------------------------------------------------------------------------------
# Progress and the whole run.


@dataclass
class SamplingRun:
    """The outcome of ``sample_all``: every response by key, and what it cost."""

    responses: dict[str, SampleResponse]
    usage: Usage
    cached: int
    failed: int

    def tokens(self) -> dict[str, int]:
        """Tokens of all responses (cached ones included: what the whole measurement took)."""
        ok = [r for r in self.responses.values() if r.status == "ok"]
        return {
            "input": sum(r.input_tokens for r in ok),
            "output": sum(r.output_tokens for r in ok),
            "input_billed_this_run": self.usage.input_tokens,
            "output_billed_this_run": self.usage.output_tokens,
        }


def sample_all(
    requests: Sequence[SampleRequest],
    sampler: Sampler,
    cache: ResponseCache,
    *,
    progress: Any = None,
) -> SamplingRun:
    """Every request's response: cached ones read back, the others sampled (and cached as they come)."""
    responses: dict[str, SampleResponse] = {}
    todo = []
    for request in requests:
        hit = cache.get(request.key)
        if hit is not None:
            responses[request.key] = hit
        else:
            todo.append(request)
    cached = len(responses)
    failed = 0
    ended = threading.Event()

    def on_response(response: SampleResponse) -> None:
        nonlocal failed
        cache.put(response)
        if ended.is_set():  # a call that finished after an interruption: cached for the next run
            return
        responses[response.key] = response
        if response.status != "ok":
            failed += 1
        if progress is not None:
            progress.update(1)

    try:
        usage = sampler.sample(todo, on_response) if todo else Usage()
    finally:
        ended.set()
        cache.close()
        if progress is not None:
            progress.close()
    return SamplingRun(responses, usage, cached, failed)
