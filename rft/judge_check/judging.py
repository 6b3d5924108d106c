"""Judging for ``rft judge-check``: which judgments a check needs (``plan_jobs``), what they cost
(``estimate``) and having them made (``judge_all``) through the judge grader itself
(``JudgeGrader.judge_unguarded``: the training request, retries and parsing, no pre-checks), cached on
disk by ``job_key`` (judge model, rubric, prompt, reference, reply, repeat index).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reward.bedrock_runtime import Usage
from rft import prices
from rft.judge_check.labels import JudgeDimension, LabelledRow
from rft.judge_check.probes import MASTER_KEYS, padded, rubric_echo
from rft.sampling import ResponseCache, SampleResponse

CACHE_VERSION = 1
DEFAULT_REPEATS = 3
#: Output tokens assumed per judgment before any is cached (a short reason and a label per criterion).
ASSUMED_OUTPUT_TOKENS_PER_CRITERION = 60


PROBES = ("response", "length", "master_key", "rubric_echo")


@dataclass(frozen=True)
class Job:
    """One judgment to have: judge ``model`` on dimension ``dimension``, row ``row``, reply ``text``."""

    model: str
    dimension: str
    row: int
    probe: str  # one of PROBES
    variant: int  # the repeat (probe "response") or the master key's index (probe "master_key")
    text: str
    key: str


def _fingerprint(dimension: JudgeDimension) -> list[Any]:
    p = dimension.grader.params
    return [
        p.task,
        list(p.scale),
        [[c.name, c.description, c.weight] for c in p.rubric],
        p.include_reference,
        p.reference_key,
        p.max_output_tokens,
    ]


def job_key(model: str, dimension: JudgeDimension, row: LabelledRow, text: str, repeat: int) -> str:
    """SHA-256 of what defines one judgment. The probe's name is not in it: the same reply to the same row
    (a labelled ``":"`` and the ``":"`` probe) is one judgment."""
    blob = json.dumps(
        [
            CACHE_VERSION,
            "judge-check",
            model,
            _fingerprint(dimension),
            row.record.get("messages"),
            row.record.get("reference_answer"),
            text,
            repeat,
        ],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def plan_jobs(
    models: Sequence[str], dimensions: Sequence[JudgeDimension], rows: Sequence[LabelledRow], repeats: int
) -> list[Job]:
    """Every judgment the check needs, model-major."""
    jobs = []
    for model in models:
        for dimension in dimensions:
            echo = rubric_echo(dimension)
            for i, row in enumerate(rows):
                wanted: list[tuple[str, int, str, int]] = [
                    ("response", r, row.response, r) for r in range(repeats)
                ]
                wanted.append(("length", 0, padded(row.response), 0))
                wanted += [("master_key", m, key, 0) for m, key in enumerate(MASTER_KEYS)]
                wanted.append(("rubric_echo", 0, echo, 0))
                for probe, variant, text, repeat in wanted:
                    key = job_key(model, dimension, row, text, repeat)
                    jobs.append(Job(model, dimension.name, i, probe, variant, text, key))
    return jobs


def sample_for(row: LabelledRow, text: str) -> Any:
    """The reward ``Sample`` of ``text`` answering ``row``'s prompt, through the one event parser."""
    from reward.event import parse_element

    element = {
        "messages": [*row.record["messages"], {"role": "assistant", "content": text}],
        "reference_answer": row.record.get("reference_answer"),
    }
    return parse_element(element, 0)


@dataclass(frozen=True)
class Judgment:
    """What the judge said: the dimension's credit and each criterion's credit (``index / top``)."""

    credit: float
    criteria: Mapping[str, float]
    reason: str = ""
    input_tokens: int = 0
    output_tokens: int = 0

    def labels(self, dimension: JudgeDimension) -> tuple[int, ...]:
        """The label index of each criterion, in rubric order."""
        top = len(dimension.scale) - 1
        return tuple(round(self.criteria[c.name] * top) for c in dimension.criteria)

    def dimension_label(self, dimension: JudgeDimension) -> int:
        """The dimension's credit on its scale: the nearest label (ties up)."""
        return int(self.credit * (len(dimension.scale) - 1) + 0.5)

    def response(self, key: str) -> SampleResponse:
        text = json.dumps({"credit": self.credit, "criteria": dict(self.criteria), "reason": self.reason})
        return SampleResponse(key, text, input_tokens=self.input_tokens, output_tokens=self.output_tokens)

    @staticmethod
    def from_response(response: SampleResponse) -> Judgment:
        """The cached judgment (``ValueError``/``KeyError``/``TypeError`` on a record of another shape)."""
        data = json.loads(response.text)
        return Judgment(
            float(data["credit"]),
            {k: float(v) for k, v in data["criteria"].items()},
            str(data.get("reason", "")),
            response.input_tokens,
            response.output_tokens,
        )


@dataclass
class JudgeRun:
    """Every judgment by key, the failures by key and what the calls cost, per model."""

    judged: dict[str, Judgment] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)


def unique(jobs: Iterable[Job]) -> list[Job]:
    seen: dict[str, Job] = {}
    for job in jobs:
        seen.setdefault(job.key, job)
    return list(seen.values())


def estimate(
    jobs: Sequence[Job],
    cache: ResponseCache,
    dimensions: Sequence[JudgeDimension],
    rows: Sequence[LabelledRow],
) -> list[prices.Estimate]:
    """Per judge model: the calls still to make, their tokens (characters / 4 in) and price."""
    from reward.judge.prompt import system_prompt

    by_name = {d.name: d for d in dimensions}
    out = []
    for model in dict.fromkeys(j.model for j in jobs):
        mine = [j for j in unique(jobs) if j.model == model]
        todo = [j for j in mine if j.key not in cache]
        input_chars = out_tokens = max_out = 0
        for job in todo:
            d = by_name[job.dimension]
            p = d.grader.params
            row = rows[job.row]
            input_chars += len(
                system_prompt(p.task, p.rubric, p.scale, "0" * 24, reference=p.include_reference)
            )
            input_chars += len(json.dumps(row.record.get("messages"))) + len(job.text)
            input_chars += len(json.dumps(row.record.get("reference_answer"))) if p.include_reference else 0
            out_tokens += min(p.max_output_tokens, ASSUMED_OUTPUT_TOKENS_PER_CRITERION * len(d.criteria))
            max_out += p.max_output_tokens
        out.append(
            prices.Estimate(
                model_id=model,
                calls=len(todo),
                cached=len(mine) - len(todo),
                input_tokens=int(input_chars / prices.CHARS_PER_TOKEN),
                output_tokens=out_tokens,
                max_output_tokens=max_out,
                price=prices.price_of(model),
            )
        )
    return out


def judge_all(
    jobs: Sequence[Job],
    dimensions: Sequence[JudgeDimension],
    rows: Sequence[LabelledRow],
    cache: ResponseCache,
    *,
    progress: Any = None,
) -> JudgeRun:
    """Every job's judgment: cached ones read back, the others judged (``JudgeGrader.judge_unguarded``,
    the grader's concurrency) and cached as each chunk finishes. Raises ``JudgeUnavailable`` when every
    call of a model fails (access denied, unknown model, no credentials)."""
    from reward.results import Status

    run = JudgeRun()
    by_name = {d.name: d for d in dimensions}
    todo: dict[tuple[str, str], list[Job]] = {}
    for job in unique(jobs):
        run.usage.setdefault(job.model, Usage())
        run.cached.setdefault(job.model, 0)
        hit = cache.get(job.key)
        try:
            judged = Judgment.from_response(hit) if hit is not None else None
        except (ValueError, KeyError, TypeError, AttributeError):
            judged = None  # a record this version cannot read: judged again
        if judged is not None:
            run.judged[job.key] = judged
            run.cached[job.model] += 1
        else:
            todo.setdefault((job.model, job.dimension), []).append(job)
    try:
        for (model, name), pending in todo.items():
            grader = by_name[name].grader
            chunk = max(1, grader.params.concurrency * 2)
            succeeded = 0
            for start in range(0, len(pending), chunk):
                part = pending[start : start + chunk]
                grades = grader.judge_unguarded([sample_for(rows[j.row], j.text) for j in part], model=model)
                for job, grade in zip(part, grades):
                    usage = run.usage[model]
                    m = grade.metrics
                    usage.calls += int(m.get("judge_calls", 0))
                    usage.throttles += int(m.get("judge_throttles", 0))
                    usage.retries += int(m.get("judge_retries", 0))
                    usage.input_tokens += int(m.get("judge_input_tokens", 0))
                    usage.output_tokens += int(m.get("judge_output_tokens", 0))
                    if grade.status is Status.OK:
                        per = {k[len("criterion_") :]: v for k, v in m.items() if k.startswith("criterion_")}
                        judged = Judgment(
                            grade.score,
                            per,
                            grade.reason,
                            int(m.get("judge_input_tokens", 0)),
                            int(m.get("judge_output_tokens", 0)),
                        )
                        cache.put(judged.response(job.key))
                        run.judged[job.key] = judged
                        succeeded += 1
                    else:
                        run.failed[job.key] = grade.reason or str(grade.status)
                    if progress is not None:
                        progress.update(1)
                if not succeeded and all(job.key in run.failed for job in part):
                    raise JudgeUnavailable(model, run.failed[part[0].key])
    finally:
        cache.close()
        if progress is not None:
            progress.close()
    return run


class JudgeUnavailable(Exception):
    """Every call to a judge model failed: nothing to measure (the message says why)."""

    def __init__(self, model: str, reason: str) -> None:
        if "access denied" in reason.lower():
            why = (
                "access denied: your AWS identity needs bedrock:InvokeModel on it (for an inference profile: "
                "the profile and the foundation model in every region it routes to), and model access must "
                "be enabled in the Bedrock console"
            )
        else:
            why = reason.removeprefix("judge: ").removeprefix("judge failed: ")[:400]
        super().__init__(f"judge model {model}: every call failed: {why}")
        self.model = model
