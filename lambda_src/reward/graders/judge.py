"""``judge``: an LLM-as-judge rubric (RLAIF) through Amazon Bedrock Runtime ``Converse``.

Formula: credit = weighted mean over the rubric's criteria of ``index(label) / (len(scale) - 1)``, where
``label`` is the judge's verdict on that criterion (scale ordered worst -> best). Metrics per sample:
``criterion_<name>`` (each criterion's credit) and the judge usage keys of
``reward.metric_names.JUDGE_DIAGNOSTICS`` (calls, throttles, retries, input/output tokens) plus
``judge_cache_hit``.

Pipeline per sample:
1. **Pre-checks, no call** (``reward.judge.checks``): empty, over ``max_response_chars``, master-key
   opener, echoed prompt, judge-injection phrases -> credit 0 (status ok) with ``judge_calls = 0``.
2. **Cache**: an identical (model, rubric, prompt, response, reference) judged earlier in this process
   reuses that verdict.
3. **One Converse call** (``reward.judge.prompt``): temperature 0, the rubric in the system prompt, the
   conversation / response / reference each fenced with a fresh random nonce, a forced tool call whose
   input gives a reason before each verdict (JSON text as the fallback). Retries with backoff + full
   jitter (``reward.judge.runtime``) within the batch deadline.
4. A malformed, off-scale, missing or refused verdict is ``error`` (the spec's ``on_error`` policy
   applies), never a low score; AccessDenied / ValidationException fail the rest of the batch at once,
   with what to fix.

The judge model is not a spec parameter: ``JUDGE_MODEL_ID`` (set by the reward stack from the context key
``judge_model_id``), else ``DEFAULT_MODEL_ID``. Samples are graded concurrently through ``grade_many``
(the runner's batched-grader hook), ``concurrency`` calls in flight. Importing this module does not
import boto3: the client is created on the first call (or by ``warm()`` at Lambda init).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, ClassVar

from reward.event import Sample
from reward.graders.base import Grader
from reward.judge import runtime as judge_runtime
from reward.judge.checks import echoed, injection, master_key, new_nonce
from reward.judge.params import JudgeParams
from reward.judge.prompt import (
    conversation_text,
    credit,
    parse_verdict,
    render_reference,
    system_prompt,
    tool_config,
    user_message,
    verdict_max_tokens,
)
from reward.judge.runtime import CACHE, CallFailed, Usage, VerdictCache
from reward.results import Grade, InfrastructureError, Status
from reward.text import has_content

#: The judge model when ``JUDGE_MODEL_ID`` is unset (stacks/config.py imports it as its default).
DEFAULT_MODEL_ID = "us.amazon.nova-pro-v1:0"
MODEL_ENV = "JUDGE_MODEL_ID"


def model_id() -> str:
    """The judge model or inference profile id: ``JUDGE_MODEL_ID``, else ``DEFAULT_MODEL_ID``."""
    return os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL_ID


class _Batch:
    """State shared by one ``grade_many`` call's worker threads."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.fatal: str | None = None  # set by the first non-retryable failure: the rest skip their call
        self.stopped = threading.Event()  # set when the batch stops waiting (deadline)
        self.gate: judge_runtime.CallGate | None = None  # the pacing of the judge model's calls (None: off)

    def should_stop(self) -> bool:
        """The batch stopped waiting, or a call failed in a way every other call would."""
        return self.stopped.is_set() or self.fatal is not None


class JudgeGrader(Grader):
    name = "judge"
    Params = JudgeParams
    batched: ClassVar[bool] = True  # the runner calls grade_many on the whole batch, concurrently

    def __init__(self, params: JudgeParams) -> None:
        super().__init__(params)
        # A rubric judged against the reference needs one; without include_reference any row is fine.
        self.needs_reference = params.include_reference  # type: ignore[misc]  # per instance: the rubric decides
        p = params
        self._fingerprint = (
            p.task,
            p.scale,
            tuple((c.name, c.description, c.weight) for c in p.rubric),
            p.include_reference,
            p.reference_key,
        )

    # ------------------------------------------------------------------ the grader interface

    def grade(self, sample: Sample) -> Grade:
        """One sample (the runner uses ``grade_many``; this serves direct callers), settled as the runner
        settles it (``reward.sample_grading.settle``)."""
        from reward.sample_grading import settle

        return settle(self.grade_many([sample], None)[0], self.name)

    def warm(self) -> None:
        """Create the Bedrock client and the call threads now (Lambda init), not on the first batch."""
        self._runtime()

    def grade_many(
        self, samples: Sequence[Sample], deadline: float | None
    ) -> list[Grade | InfrastructureError]:
        """Grades of ``samples``, in order, by ``deadline`` (a ``time.monotonic()`` instant) at the latest.

        Samples whose call has not finished by then get status ``deadline``. Never raises.
        """
        out: list[Grade | InfrastructureError | None] = [None] * len(samples)
        todo: list[tuple[int, Sample, str]] = []
        first_of: dict[str, int] = {}  # cache key -> the sample judged for it in this batch
        copies: list[tuple[int, int]] = []  # (sample, the identical sample it copies)
        model = model_id()
        for i, sample in enumerate(samples):
            try:
                refused = self.precheck(sample)
                if refused is not None:
                    out[i] = refused
                    continue
                key = self._cache_key(model, sample)
            except Exception as exc:  # a bug on one sample must not cost the batch
                out[i] = Grade.failed(f"judge pre-check raised {type(exc).__name__}: {str(exc)[:200]}")
                continue
            cached = CACHE.get(key)
            if cached is not None:
                out[i] = self._grade_from(cached, Usage(), cached=True)
            elif key in first_of:  # GRPO groups repeat responses: judge each distinct one once
                copies.append((i, first_of[key]))
            else:
                first_of[key] = i
                todo.append((i, sample, key))
        if todo:
            self._call_all(todo, out, model, deadline)
        for i, original in copies:
            grade = out[original]
            if grade is None or isinstance(grade, InfrastructureError):
                out[i] = grade
                continue
            # The copy reports the verdict but not the call (usage is counted once, on the original).
            cached = grade.status is Status.OK
            metrics = {**grade.metrics, **Usage().metrics(cached=cached)}
            out[i] = Grade(grade.score, grade.status, grade.reason, metrics)
        return [g if g is not None else Grade.deadline() for g in out]

    # ------------------------------------------------------------------ the judge alone (rft judge-check)

    def judge_unguarded(
        self, samples: Sequence[Sample], *, model: str | None = None, deadline: float | None = None
    ) -> list[Grade]:
        """Each sample judged by a fresh call of ``model`` (default ``model_id()``): the very request,
        retries, parsing and credit of training, but no pre-checks and no verdict-cache lookup, so it
        measures what the judge itself says about any text (``rft judge-check``: repeats of one response
        are distinct calls, and degenerate probe replies reach the judge). Never raises."""
        from reward.sample_grading import settle

        out: list[Grade | InfrastructureError | None] = [None] * len(samples)
        model = model or model_id()
        todo = [(i, sample, self._cache_key(model, sample)) for i, sample in enumerate(samples)]
        if todo:
            self._call_all(todo, out, model, deadline)
        # settled as in training: a failure of ours (throttled, denied) is ``error``, the response's ``failed``
        return [settle(g, self.name) if g is not None else Grade.deadline() for g in out]

    # ------------------------------------------------------------------ pre-checks

    def precheck(self, sample: Sample) -> Grade | None:
        """Credit 0 without a call for responses that need no judge, else None."""
        p: JudgeParams = self.params
        text = sample.response or ""
        if not has_content(text):
            reason = "empty response (no letter or digit)"
        elif len(text) > p.max_response_chars:
            reason = f"response is {len(text)} chars, over max_response_chars={p.max_response_chars}"
        else:
            reason = master_key(text) or echoed(text, sample.user_text) or injection(text)  # type: ignore[assignment]
        if reason is None:
            return None
        return Grade.wrong(reason, **Usage().metrics())

    # ------------------------------------------------------------------ calls

    def _reference(self, sample: Sample) -> str | None:
        """The reference the judge sees: the value at ``reference_key``, else the whole reference."""
        if not self.params.include_reference:
            return None
        reference = sample.reference
        key = self.params.reference_key
        if key and isinstance(reference, Mapping) and key in reference:
            reference = reference[key]
        return render_reference(reference)

    def _cache_key(self, model: str, sample: Sample) -> str:
        return VerdictCache.key(
            model,
            self._fingerprint,
            conversation_text(sample.prompt),
            sample.response,
            self._reference(sample),
        )

    def _call_all(
        self,
        todo: list[tuple[int, Sample, str]],
        out: list[Grade | InfrastructureError | None],
        model: str,
        deadline: float | None,
    ) -> None:
        batch = _Batch(deadline)
        try:
            client, pool = self._runtime()
        except Exception as exc:
            for i, _, _ in todo:
                out[i] = InfrastructureError(
                    f"cannot create the Bedrock Runtime client: {type(exc).__name__}: {exc}"
                )
            return
        usages = {i: Usage() for i, _, _ in todo}
        futures: dict[Future[Grade], int] = {}
        paced = judge_runtime.pacing_on()
        if paced:
            batch.gate = judge_runtime.gate(model, max_in_flight=self.params.concurrency)
            ordered = judge_runtime.priority_pool(judge_runtime.pool_threads(self.params.concurrency))
        for i, sample, key in todo:
            args = (client, model, sample, key, usages[i], batch)
            # Paced: the sample's position in the event orders the calls of every judge dimension.
            future = (
                ordered.submit(sample.index, self._judge_one, *args)
                if paced
                else pool.submit(self._judge_one, *args)
            )
            futures[future] = i
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        done, not_done = wait(futures, timeout=timeout)
        batch.stopped.set()
        for future in not_done:
            future.cancel()  # not started yet: never will be; running: its thread sees batch.stopped
            i = futures[future]
            out[i] = _failed(
                Status.DEADLINE, "the batch reached its deadline before the judge answered", usages[i]
            )
        for future in done:
            i = futures[future]
            try:
                out[i] = future.result()
            except Exception as exc:  # _judge_one does not raise; belt and braces
                out[i] = Grade.failed(f"judge raised {type(exc).__name__}: {str(exc)[:200]}")

    def _runtime(self) -> tuple[Any, ThreadPoolExecutor]:
        """The process's Bedrock client and call pool for this dimension's settings (created once)."""
        p: JudgeParams = self.params
        client = judge_runtime.client(pool_size=p.concurrency, read_timeout_s=p.timeout_s)
        return client, judge_runtime.executor(p.concurrency)

    def request(self, model: str, sample: Sample, nonce: str) -> dict[str, Any]:
        """The Converse request (keyword arguments of ``client.converse``) judging ``sample``."""
        p: JudgeParams = self.params
        reference = self._reference(sample)
        text = user_message(conversation_text(sample.prompt), sample.response or "", reference, nonce)
        request: dict[str, Any] = {
            "modelId": model,
            "system": [
                {"text": system_prompt(p.task, p.rubric, p.scale, nonce, reference=reference is not None)}
            ],
            "messages": [{"role": "user", "content": [{"text": text}]}],
            # Never below what an honest verdict can need: a verdict cut off is charged to the response.
            "inferenceConfig": {
                "maxTokens": max(p.max_output_tokens, verdict_max_tokens(p.rubric)),
                "temperature": 0.0,
            },
        }
        if model not in judge_runtime.NO_FORCED_TOOL:
            request["toolConfig"] = tool_config(p.rubric, p.scale)
        return request

    def _judge_one(
        self, client: Any, model: str, sample: Sample, key: str, usage: Usage, batch: _Batch
    ) -> Grade | InfrastructureError:
        p: JudgeParams = self.params
        if batch.fatal is not None:
            return _ours(batch.fatal, usage)
        criteria, scale = p.rubric, p.scale

        def send() -> dict[str, Any]:
            # A fresh nonce per call (a retry gets a new one too).
            return client.converse(**self.request(model, sample, new_nonce()))

        def accept(reply: dict[str, Any]) -> Any:
            verdict = parse_verdict(
                reply.get("output") or {}, str(reply.get("stopReason") or ""), criteria, scale
            )
            score, per = credit(verdict, criteria, scale)
            summary = "; ".join(f"{c.name}: {verdict.labels[c.name]}" for c in criteria)
            worst = min(criteria, key=lambda c: per[c.name])
            reason = f"{summary} — {worst.name}: {verdict.reasons[worst.name]}"[:400]
            return (score, per, reason)

        text_mode = model in judge_runtime.NO_FORCED_TOOL
        while True:
            try:
                # max_attempts bounds the failures that are not throttles (paced: throttles retry until
                # the deadline).
                spent = usage.calls - (usage.throttles if batch.gate is not None else 0)
                result = judge_runtime.call_with_retries(
                    send,
                    usage,
                    max_attempts=max(1, p.max_attempts - spent),
                    deadline=batch.deadline,
                    backoff_base_s=p.backoff_base_s,
                    backoff_max_s=p.backoff_max_s,
                    accept=accept,
                    stop=batch.should_stop,
                    gate=batch.gate,
                    priority=sample.index,
                    count_throttles=batch.gate is None,
                )
                break
            except CallFailed as exc:
                if batch.fatal is not None and exc.kind != "fatal":  # another call failed for good
                    return _ours(batch.fatal, usage)
                if (
                    _rejects_forced_tool(exc)
                    and not text_mode
                    and usage.calls - usage.throttles < p.max_attempts
                ):
                    # This model cannot be forced to call a tool: ask for the JSON text form from now on.
                    judge_runtime.NO_FORCED_TOOL.add(model)
                    text_mode = True
                    continue
                return self._settle(exc, usage, model, batch)
        CACHE.put(key, result)
        return self._grade_from(result, usage)

    def _settle(
        self, exc: CallFailed, usage: Usage, model: str, batch: _Batch
    ) -> Grade | InfrastructureError:
        """Who pays for a judge call that failed for good (docs/time-limits.md). The judge's prompt holds
        the response, so a refusal (content filter, guardrail), a verdict cut off at ``maxTokens`` or a
        reply that is no verdict at all is the response's failure (``failed``: -1, a veto fires);
        throttling or 5xx after the retries, access denied or a wrong model id are ours
        (``InfrastructureError``: the spec's ``on_error``); no time left is ``deadline``."""
        if exc.kind == "deadline":
            return _failed(Status.DEADLINE, f"judge: {exc}", usage)
        if exc.kind in ("refused", "malformed"):
            return _failed(Status.FAILED, f"judge could not judge this response: {exc}", usage)
        if exc.kind == "fatal":
            if _too_long(exc):  # the response made the request too long for the judge
                return _failed(Status.FAILED, f"judge could not take this response: {exc}", usage)
            batch.fatal = fatal_message(exc.code, exc.aws_message, model)
            return _ours(batch.fatal, usage)
        return _ours(f"judge failed: {exc}", usage)

    def _grade_from(
        self, result: tuple[float, dict[str, float], str], usage: Usage, *, cached: bool = False
    ) -> Grade:
        score, per, reason = result
        metrics = {f"criterion_{name}": value for name, value in per.items()}
        metrics.update(usage.metrics(cached=cached))
        return Grade.partial(score, reason, **metrics)


def fatal_message(code: str, message: str, model: str) -> str:
    """A non-retryable Bedrock error, said so that the reader knows what to change."""
    if code == "AccessDeniedException":
        return (
            f"judge: access denied calling bedrock:InvokeModel on {model!r} ({message[:200]}). The reward "
            "Lambda's role needs bedrock:InvokeModel on that model (for an inference profile: the profile "
            "ARN and the foundation-model ARN in every region it routes to), and model access must be "
            "enabled in the Bedrock console; redeploy with the same judge_model_id the function uses "
            f"(JUDGE_MODEL_ID={model})."
        )
    if code in ("ValidationException", "ResourceNotFoundException"):
        return (
            f"judge: Bedrock rejected the request for model {model!r}: {code}: {message[:300]}. Check "
            "judge_model_id (a model or inference profile id that supports Converse with tool use in "
            "this region) and the judge dimension's max_output_tokens."
        )
    return f"judge: Bedrock error {code}: {message[:300]} (model {model!r})"


def _rejects_forced_tool(exc: CallFailed) -> bool:
    return exc.code == "ValidationException" and "tool" in exc.aws_message.lower()


def _too_long(exc: CallFailed) -> bool:
    """A ValidationException that says the input is too long (the response's size, not our setup)."""
    text = exc.aws_message.lower()
    return exc.code == "ValidationException" and any(
        word in text for word in ("too long", "too many tokens", "input length", "context length", "exceeds")
    )


def _ours(reason: str, usage: Usage) -> InfrastructureError:
    return InfrastructureError(reason, metrics=usage.metrics())


def _failed(status: Status, reason: str, usage: Usage) -> Grade:
    return Grade(0.0, status, reason, usage.metrics())
