"""Measure a model on a dataset with a reward: sample k responses per prompt (``rft.sampling``), grade them
with the spec (locally through ``reward.grading.grade_event``, the handler's code, or the deployed reward Lambda), and
summarize per prompt. Shared by ``rft baseline`` and ``rft eval``.

Definitions (stated in the reports and in docs/before-and-after.md):

- A sample is **graded** when the model answered and no dimension's status is ``error``, ``timeout``,
  ``deadline`` or ``no_reference``: those are our failures or the data's, not a wrong answer, so they are
  counted under ``statuses`` and left out of every mean and share. ``unscorable`` (no final answer found)
  *is* a wrong answer and stays in.
- A sample **passes** when the spec's correctness gate passes (the dimension other dimensions are gated
  on: status ok and credit >= its ``pass_at``); a spec without a gate passes at aggregate >= ``PASS_AGGREGATE``.
- Per prompt (over its graded samples, at least two): **signal** when the rewards are not all equal (GRPO
  learns nothing from a group of equal rewards), **solved** when every sample passes, **unsolved** when
  none does. Shares are over the prompts with at least two graded samples.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reward.spec import Spec
from rft.context import Context
from rft.errors import EXIT_FAILURE, CliError
from rft.grading import BatchGrader, Scored, grade_all, read_reply_element
from rft.rows import Row, event_element
from rft.sampling import (
    InferenceSettings,
    ResponseCache,
    RuntimeSampler,
    Sampler,
    SampleRequest,
    SamplingRun,
    build_requests,
    estimate,
    sample_all,
)
from rft.ui import progress_bar

#: Without a correctness gate, a sample passes at this aggregate reward or above.
PASS_AGGREGATE = 0.5
#: Statuses that are not the response's fault: the sample is counted, not graded.
NOT_A_JUDGEMENT = ("error", "timeout", "deadline", "no_reference")
#: Rewards closer than this are equal (aggregates are floats composed from the same dimensions).
EQUAL_TOLERANCE = 1e-9
#: Samples per grading batch (one Lambda invocation when grading remotely).
GRADE_BATCH = 64


# --------------------------------------------------------------------------------------------------
# Grading.


@dataclass(frozen=True)
class GradedSample:
    """One sample of one prompt, sampled and graded (or why not)."""

    prompt_index: int
    sample_index: int
    response: str
    state: str  # "graded", "sampling_failed", or "not_graded" (a status in NOT_A_JUDGEMENT)
    aggregate: float | None = None
    rewards: Mapping[str, float] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)
    passed: bool = False
    stop_reason: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    error: str = ""


def correctness_gate(spec: Spec) -> Any | None:
    """The dimension the spec's other dimensions are gated on (the most gated-on; None without gates)."""
    counts = Counter(d.gate for d in spec.dimensions if d.gate)
    if not counts:
        return None
    name = counts.most_common(1)[0][0]
    return next(d for d in spec.dimensions if d.name == name)


def pass_rule(spec: Spec) -> str:
    gate = correctness_gate(spec)
    if gate is None:
        return f"aggregate reward >= {PASS_AGGREGATE}"
    return f"{gate.name} passed (credit >= {gate.pass_at:g})"


def passed(spec: Spec, scored: Scored) -> bool:
    gate = correctness_gate(spec)
    if gate is None:
        return scored.aggregate >= PASS_AGGREGATE
    reward = scored.rewards.get(gate.name)
    return (
        scored.statuses.get(gate.name) == "ok"
        and reward is not None
        and reward >= 2.0 * gate.pass_at - 1.0 - EQUAL_TOLERANCE
    )


class GradeCache:
    """Reply elements by a hash of (spec, grader, the graded element): a rerun regrades nothing (a judge
    spec re-pays no judge call). ``<directory>/grades.jsonl``, append-only like the response cache; only
    grades without an error/timeout/deadline status are kept (those are retried)."""

    FILE = "grades.jsonl"

    def __init__(self, directory: Path, spec: Spec, where: str, *, local: bool = True) -> None:
        self.path = Path(directory) / self.FILE
        # Locally the grades depend on the spec file and the grading code (the reward library and the
        # spec's custom grader modules); remotely on the spec and the function version in ``where``.
        code = code_fingerprint(spec) if local else ""
        self.salt = json.dumps([spec.sha256 or str(spec.path), where, code])
        self.data: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            with self.path.open("r", encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    try:
                        record = json.loads(line)
                        self.data[str(record["key"])] = dict(record["element"])
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn line: regraded

    def key(self, element: Mapping[str, Any]) -> str:
        blob = json.dumps(
            [self.salt, element["messages"], element["metadata"]], ensure_ascii=False, sort_keys=True
        )
        return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()

    def store(self, pairs: Sequence[tuple[str, dict[str, Any]]], dimensions: Sequence[str]) -> None:
        keep = [
            (k, e)
            for k, e in pairs
            if not any(s in NOT_A_JUDGEMENT for s in read_reply_element(e, dimensions).statuses.values())
        ]
        if not keep:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as stream:
            for k, element in keep:
                stored = {key: value for key, value in element.items() if key != "id"}
                stream.write(json.dumps({"key": k, "element": stored}, ensure_ascii=False) + "\n")
                self.data[k] = stored


def code_fingerprint(spec: Spec) -> str:
    """SHA-256 of the grading code this process runs: the ``reward`` package and the spec's custom
    grader modules (a changed grader invalidates cached grades)."""
    import importlib.util

    import reward

    files = sorted(Path(reward.__file__).parent.rglob("*.py"))
    for module in sorted(spec.python_modules):
        found = importlib.util.find_spec(module)
        if found is not None and found.origin:
            origin = Path(found.origin)
            files += sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.name).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def grade_run(
    rows: Sequence[Row],
    requests: Sequence[SampleRequest],
    run: SamplingRun,
    spec: Spec,
    grader: BatchGrader,
    *,
    concurrency: int = 1,
    cache: GradeCache | None = None,
) -> list[GradedSample]:
    """Grade every answered sample (grades cached in ``cache`` are reused); samples without an answer are
    kept as ``sampling_failed``."""
    from reward.contract import check_reply

    dimensions = [d.name for d in spec.dimensions]
    answered = [r for r in requests if run.responses.get(r.key) and run.responses[r.key].status == "ok"]
    elements = [
        event_element(
            rows[r.prompt_index],
            run.responses[r.key].text,
            f"{r.prompt_index}:{r.sample_index}",
            message=run.responses[r.key].message(),
        )
        for r in answered
    ]
    keys = [cache.key(e) for e in elements] if cache is not None else [""] * len(elements)
    found = {i: cache.data[k] for i, k in enumerate(keys) if cache is not None and k in cache.data}
    todo = [i for i in range(len(elements)) if i not in found]
    fresh = (
        grade_all(
            [elements[i] for i in todo],
            grader,
            batch_size=GRADE_BATCH,
            concurrency=concurrency,
            check=check_reply,
        )
        if todo
        else []
    )
    if cache is not None:
        cache.store([(keys[i], element) for i, element in zip(todo, fresh)], dimensions)
    replies: dict[int, Mapping[str, Any]] = {**found, **dict(zip(todo, fresh))}
    by_key = {r.key: read_reply_element(replies[i], dimensions) for i, r in enumerate(answered)}
    graded = []
    for request in requests:
        response = run.responses.get(request.key)
        if response is None or response.status != "ok":
            graded.append(
                GradedSample(
                    request.prompt_index,
                    request.sample_index,
                    "",
                    "sampling_failed",
                    error=response.error if response is not None else "not sampled",
                )
            )
            continue
        scored = by_key[request.key]
        bad = any(s in NOT_A_JUDGEMENT for s in scored.statuses.values())
        graded.append(
            GradedSample(
                request.prompt_index,
                request.sample_index,
                response.text,
                "not_graded" if bad else "graded",
                scored.aggregate,
                dict(scored.rewards),
                dict(scored.statuses),
                (not bad) and passed(spec, scored),
                response.stop_reason,
                response.input_tokens,
                response.output_tokens,
            )
        )
    return graded


# --------------------------------------------------------------------------------------------------
# Per prompt and per model.


@dataclass(frozen=True)
class PromptStats:
    prompt_index: int
    rewards: tuple[float, ...]  # graded samples only
    passes: tuple[bool, ...]

    @property
    def measured(self) -> bool:
        return len(self.rewards) >= 2

    @property
    def mean(self) -> float:
        return sum(self.rewards) / len(self.rewards) if self.rewards else math.nan

    @property
    def spread(self) -> float:
        return max(self.rewards) - min(self.rewards) if self.rewards else math.nan

    @property
    def signal(self) -> bool:
        return self.measured and self.spread > EQUAL_TOLERANCE

    @property
    def solved(self) -> bool:
        return self.measured and all(self.passes)

    @property
    def unsolved(self) -> bool:
        return self.measured and not any(self.passes)


def per_prompt(graded: Sequence[GradedSample], prompts: int) -> list[PromptStats]:
    rewards: list[list[float]] = [[] for _ in range(prompts)]
    passes: list[list[bool]] = [[] for _ in range(prompts)]
    for sample in graded:
        if sample.state == "graded" and sample.aggregate is not None:
            rewards[sample.prompt_index].append(sample.aggregate)
            passes[sample.prompt_index].append(sample.passed)
    return [PromptStats(i, tuple(rewards[i]), tuple(passes[i])) for i in range(prompts)]


def share(count: int, total: int) -> float | None:
    return count / total if total else None


def summarize(
    graded: Sequence[GradedSample],
    prompts: Sequence[PromptStats],
    samples_per_prompt: int,
    spec: Spec,
    run: SamplingRun,
) -> dict[str, Any]:
    """The model's numbers (the keys of ``--json``)."""
    ok = [s for s in graded if s.state == "graded" and s.aggregate is not None]
    measured = [p for p in prompts if p.measured]
    dimensions = [d.name for d in spec.dimensions]
    statuses: Counter[str] = Counter()
    for sample in graded:
        if sample.state == "sampling_failed":
            statuses["sampling_failed"] += 1
        for status in sample.statuses.values():
            statuses[status] += 1
    per_dimension = {}
    for name in dimensions:
        values = [s.rewards[name] for s in ok if name in s.rewards and s.statuses.get(name) == "ok"]
        per_dimension[name] = sum(values) / len(values) if values else None
    passed = sum(s.passed for s in ok)
    with_any_pass = [p for p in prompts if p.rewards and any(p.passes)]
    return {
        "prompts": len(prompts),
        "prompts_measured": len(measured),
        "samples_per_prompt": samples_per_prompt,
        "samples_graded": len(ok),
        "mean_reward": (sum(s.aggregate for s in ok) / len(ok)) if ok else None,  # type: ignore[misc]
        "per_dimension": per_dimension,
        "pass_rule": pass_rule(spec),
        "pass_rate": share(passed, len(ok)),
        "pass_at_k": share(len(with_any_pass), len([p for p in prompts if p.rewards])),
        "signal_share": share(sum(p.signal for p in measured), len(measured)),
        "solved_share": share(sum(p.solved for p in measured), len(measured)),
        "unsolved_share": share(sum(p.unsolved for p in measured), len(measured)),
        "statuses": dict(sorted(statuses.items())),
        "tokens": run.tokens(),
        "calls": {
            "made": run.usage.calls,
            "throttled": run.usage.throttles,
            "retried": run.usage.retries,
            "cached": run.cached,
            "failed": run.failed,
        },
    }


# --------------------------------------------------------------------------------------------------
# One model, end to end.


@dataclass
class Plan:
    """A model to measure: its requests, what is cached, and the cost estimate of the rest."""

    model_id: str
    requests: list[SampleRequest]
    cache: ResponseCache
    estimate: Any


def plan(
    rows: Sequence[Row],
    model_id: str,
    settings: InferenceSettings,
    samples: int,
    cache_dir: Path,
    *,
    price_fallback: str | None = None,
) -> Plan:
    requests = build_requests(rows, model_id, settings, samples)
    cache = ResponseCache(cache_dir)
    todo = [r for r in requests if r.key not in cache]
    known = [cache.get(r.key) for r in requests if r.key in cache]
    cost = estimate(
        model_id,
        todo,
        len(requests) - len(todo),
        settings,
        known=[k for k in known if k is not None],
        price_fallback=price_fallback,
    )
    return Plan(model_id, requests, cache, cost)


def check_reachable(plans: Sequence[Plan], args: argparse.Namespace, ctx: Context, region: str) -> None:
    """Before the estimate and any spending: a run with calls to make says at once, in one line, when
    Bedrock Runtime does not answer (no route, DNS, refused), instead of retrying for minutes."""
    if ctx.client_factory is not None or not any(r.key not in p.cache for p in plans for r in p.requests):
        return
    from rft.aws_errors import check_reachable as reachable

    problem = reachable("bedrock-runtime", region)
    if problem is not None:
        raise CliError(problem, EXIT_FAILURE)


def execute(p: Plan, sampler: Sampler, *, label: str, ctx: Context, show_progress: bool) -> SamplingRun:
    todo = sum(1 for r in p.requests if r.key not in p.cache)
    bar = progress_bar(todo, label, err=ctx.err, enabled=show_progress)
    return sample_all(p.requests, sampler, p.cache, progress=bar)


def runtime_sampler(args: argparse.Namespace, ctx: Context) -> RuntimeSampler:
    return RuntimeSampler(concurrency=args.concurrency, sleep=ctx.sleep)


def sampler_for(args: argparse.Namespace, ctx: Context, out: Path) -> Any:
    """The sampler ``--via`` asks for: on-demand Converse, or a batch inference job (models the batch
    role may not invoke, such as a tuned deployment, fall back to on-demand calls)."""
    on_demand = runtime_sampler(args, ctx)
    if args.via != "batch":  # check_counts made sure --via batch comes with --stack
        return on_demand
    from rft.batch_inference import batch_sampler_from_stack

    return batch_sampler_from_stack(ctx, args.stack, args.region, state_dir=out / "batch", fallback=on_demand)


def write_samples(
    path: Path, rows: Sequence[Row], graded: Sequence[GradedSample], model: str, *, append: bool = False
) -> None:
    """Every sample with its grade, one JSON object per line."""
    with path.open("a" if append else "w", encoding="utf-8") as stream:
        for record in (
            {
                "model": model,
                "prompt_index": s.prompt_index,
                "line": rows[s.prompt_index].line,
                "task_id": rows[s.prompt_index].task_id,
                "sample_index": s.sample_index,
                "state": s.state,
                "aggregate": s.aggregate,
                "passed": s.passed,
                "rewards": dict(s.rewards),
                "statuses": dict(s.statuses),
                "stop_reason": s.stop_reason,
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                **({"error": s.error} if s.error else {}),
                "response": s.response,
            }
            for s in graded
        ):
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
