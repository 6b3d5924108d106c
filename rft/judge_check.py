"""Know your judge before you train on it: agreement with human labels, self-consistency and bias probes
of a spec's LLM judge (``rft judge-check``).

For every judge dimension of the spec and every labelled row (``rft.judge_labels``):

- **agreement**: the row's response is judged ``repeats`` times (distinct calls: the repeat index is part
  of the cache key); every judgment is compared with the human label(s) — ``rft.agreement``;
- **self-consistency**: ``flip_rate``, the share of rows whose verdict (the label of every criterion) is
  not the same in all repeats;
- **bias probes**, one call each per row: *length* — the response with neutral prose appended that at
  least doubles it (``>= 400`` characters added): the share of rows whose credit rises above every repeat
  of the original; *master key* — the response replaced by each of ``MASTER_KEYS``: the highest credit
  any earns; *rubric echo* — the response replaced by the dimension's own criteria text: its highest
  credit. A degenerate reply must earn the scale's lowest label (credit 0).

The calls go through the judge grader itself (``JudgeGrader.judge_unguarded``: the training prompt,
fencing, retries and parsing, without the pre-checks), so the probes test the judge, not the guards;
the guarded credit (the pre-checks first, as in training) is reported beside each probe. Judgments are
cached on disk (``rft.sampling.ResponseCache``) by judge model, rubric, prompt, reference, reply and
repeat: a rerun makes no call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reward.bedrock_runtime import Usage
from rft import agreement, prices
from rft.judge_labels import JudgeDimension, LabelledRow
from rft.sampling import ResponseCache, SampleResponse

CACHE_VERSION = 1
DEFAULT_REPEATS = 3
#: Degenerate replies known to fool LLM judges (arXiv 2507.08794, "One Token to Fool LLM-as-a-Judge").
MASTER_KEYS = (":", "Thought process:", "Let's solve this step by step.", "Solution")
#: Prose that adds no fact, step, apology or promise: appended (repeated) to make a reply longer only.
NEUTRAL_PROSE = (
    "This message was written in reply to the enquiry above. It restates the situation as it stands at "
    "the time of writing, using the information that was available when it was prepared. The paragraphs "
    "that follow are part of the same message and should be read together with the text before them. "
)
MIN_PADDING_CHARS = 400

#: The verdict's thresholds.
KAPPA_MIN = 0.6
FLIP_RATE_MAX = 0.10
LENGTH_BIAS_MAX = 0.10
THRESHOLDS = (
    f"trustworthy when, for every judge dimension, kappa >= {KAPPA_MIN}, flip rate <= {FLIP_RATE_MAX:.0%}, "
    f"length bias <= {LENGTH_BIAS_MAX:.0%} of rows, and no master-key or rubric-echo reply earns more than "
    "the lowest label (credit 0)"
)
#: Output tokens assumed per judgment before any is cached (a short reason and a label per criterion).
ASSUMED_OUTPUT_TOKENS_PER_CRITERION = 60


# --------------------------------------------------------------------------------------------------
# Probes.


def padded(response: str) -> str:
    """``response`` with neutral prose appended: at least as long again, and at least 400 characters more."""
    need = max(len(response), MIN_PADDING_CHARS)
    repeats = -(-need // len(NEUTRAL_PROSE))
    return f"{response.rstrip()}\n\n{(NEUTRAL_PROSE * repeats).strip()}"


def rubric_echo(dimension: JudgeDimension) -> str:
    """The dimension's own criteria, as a reply: ``name: description`` lines."""
    return "\n".join(f"{c.name}: {c.description}" for c in dimension.criteria)


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


# --------------------------------------------------------------------------------------------------
# Running the judgments.


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


# --------------------------------------------------------------------------------------------------
# Measuring.


def _share(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _rounded_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(pair[0], 4), round(pair[1], 4)]


def _guarded(dimension: JudgeDimension, row: LabelledRow, text: str, raw: float) -> float:
    """The credit of the full grader: its pre-checks first (credit 0 without a call), else the judge's."""
    refused = dimension.grader.precheck(sample_for(row, text))
    return refused.score if refused is not None else raw


def measure_dimension(
    dimension: JudgeDimension,
    model: str,
    rows: Sequence[LabelledRow],
    jobs: Sequence[Job],
    run: JudgeRun,
) -> dict[str, Any]:
    """The numbers of one judge dimension for one judge model (see the module docstring)."""
    mine = [j for j in jobs if j.model == model and j.dimension == dimension.name]
    by_row: dict[int, dict[str, list[tuple[Job, Judgment]]]] = {}
    failed = 0
    for job in mine:
        judged = run.judged.get(job.key)
        if judged is None:
            failed += 1
            continue
        by_row.setdefault(job.row, {}).setdefault(job.probe, []).append((job, judged))

    k = len(dimension.scale)
    names = dimension.criterion_names
    units_h: list[int] = []  # pooled label pairs (kappa, confusion)
    units_j: list[int] = []
    by_row_units: dict[int, tuple[list[int], list[int]]] = {}  # the same pairs by row (the bootstrap)
    row_exact: list[bool] = []
    row_within: list[bool] = []
    credit_h: list[float] = []
    credit_j: list[float] = []
    flips: list[bool] = []
    per_criterion: dict[str, dict[str, list[Any]]] = {
        n: {"h": [], "j": [], "ch": [], "cj": [], "flips": [], "rows": set()} for n in names
    }
    rises: list[bool] = []
    rises_guarded: list[bool] = []
    measured_rows = 0
    for i, row in enumerate(rows):
        repeats = [
            judged for _, judged in sorted(by_row.get(i, {}).get("response", []), key=lambda x: x[0].variant)
        ]
        if not repeats:
            continue
        measured_rows += 1
        human = row.human[dimension.name]
        human_credit = row.human_credit(dimension)
        for judged in repeats:
            if isinstance(human, str):
                h, j = [dimension.scale.index(human)], [judged.dimension_label(dimension)]
            else:
                h = [dimension.scale.index(human[n]) for n in names]
                j = list(judged.labels(dimension))
                for n, hn, jn in zip(names, h, j):
                    c = per_criterion[n]
                    c["h"].append(hn)
                    c["j"].append(jn)
                    c["ch"].append(hn / (k - 1))
                    c["cj"].append(judged.criteria[n])
                    c["rows"].add(i)
            units_h += h
            units_j += j
            by_row_units.setdefault(i, ([], []))
            by_row_units[i][0].extend(h)
            by_row_units[i][1].extend(j)
            row_exact.append(h == j)
            row_within.append(all(abs(a - b) <= 1 for a, b in zip(h, j)))
            credit_h.append(human_credit)
            credit_j.append(judged.credit)
        if len(repeats) >= 2:
            verdicts = {judged.labels(dimension) for judged in repeats}
            flips.append(len(verdicts) > 1)
            if not isinstance(human, str):
                for index, n in enumerate(names):
                    per_criterion[n]["flips"].append(len({v.labels(dimension)[index] for v in repeats}) > 1)
        longer = by_row.get(i, {}).get("length", [])
        if longer:
            best = max(judged.credit for judged in repeats)
            padded_credit = longer[0][1].credit
            rises.append(padded_credit > best + 1e-9)
            best_guarded = max(_guarded(dimension, row, row.response, judged.credit) for judged in repeats)
            rises_guarded.append(
                _guarded(dimension, row, longer[0][0].text, padded_credit) > best_guarded + 1e-9
            )

    master: dict[str, list[float]] = {key: [] for key in MASTER_KEYS}
    master_guarded: list[float] = []
    echo: list[float] = []
    echo_guarded: list[float] = []
    for i, row in enumerate(rows):
        for job, judged in by_row.get(i, {}).get("master_key", []):
            master[MASTER_KEYS[job.variant]].append(judged.credit)
            master_guarded.append(_guarded(dimension, row, job.text, judged.credit))
        for job, judged in by_row.get(i, {}).get("rubric_echo", []):
            echo.append(judged.credit)
            echo_guarded.append(_guarded(dimension, row, job.text, judged.credit))
    master_all = [c for values in master.values() for c in values]

    criteria: dict[str, Any] = {}
    for n in names:
        c = per_criterion[n]
        if not c["h"]:
            continue
        criteria[n] = {
            "n": len(c["rows"]),
            "agreement": _rounded(agreement.exact(c["h"], c["j"])),
            "within_one": _rounded(agreement.within_one(c["h"], c["j"])),
            "kappa": _rounded(agreement.quadratic_kappa(c["h"], c["j"], k)),
            "spearman": _rounded(agreement.spearman(c["ch"], c["cj"])),
            "flip_rate": _rounded(_share(c["flips"])),
            "confusion": agreement.confusion(c["h"], c["j"], k),
        }
    return {
        "n": measured_rows,
        "agreement": _rounded(_share(row_exact)),
        "within_one": _rounded(_share(row_within)),
        "kappa": _rounded(agreement.quadratic_kappa(units_h, units_j, k)),
        "kappa_ci95": _rounded_pair(agreement.bootstrap_kappa(list(by_row_units.values()), k)),
        "spearman": _rounded(agreement.spearman(credit_h, credit_j)),
        "flip_rate": _rounded(_share(flips)),
        "length_bias": _rounded(_share(rises)),
        "master_key_max_credit": _rounded(max(master_all)) if master_all else None,
        "rubric_echo_credit": _rounded(max(echo)) if echo else None,
        "criteria": criteria,
        "guarded": {
            "length_bias": _rounded(_share(rises_guarded)),
            "master_key_max_credit": _rounded(max(master_guarded)) if master_guarded else None,
            "rubric_echo_credit": _rounded(max(echo_guarded)) if echo_guarded else None,
        },
        "master_key_credits": {key: _rounded(max(v)) if v else None for key, v in master.items()},
        "scale": list(dimension.scale),
        "confusion": agreement.confusion(units_h, units_j, k),
        "judgments_failed": failed,
    }


# --------------------------------------------------------------------------------------------------
# The verdict.


def failures(
    dimensions: Mapping[str, Mapping[str, Any]],
    veto_only: Iterable[str] = (),
    with_reference: Iterable[str] = (),
    repeats: int = DEFAULT_REPEATS,
) -> list[dict[str, Any]]:
    """Each failed test of each dimension: ``{dimension, test, value, threshold, problem, next_step}``.

    ``veto_only``: dimensions whose credit pays nothing (weight 0, no gate on them): a degenerate reply
    they call "safe" earns nothing, so their master-key and rubric-echo numbers are not enforced.
    ``with_reference``: dimensions that already show the judge the reference (not advised again)."""
    out = []
    veto_only = set(veto_only)
    with_reference = set(with_reference)
    for name, d in dimensions.items():
        reference = (
            ""
            if name in with_reference
            else "set include_reference = true so the judge checks against a reference, "
        )
        kappa = d["kappa"]
        if kappa is None or kappa < KAPPA_MIN:
            weak = sorted(
                (
                    (c, v["kappa"])
                    for c, v in d["criteria"].items()
                    if v["kappa"] is None or v["kappa"] < KAPPA_MIN
                ),
                key=lambda item: -1 if item[1] is None else item[1],
            )
            weakest = (
                f" (weakest criteria: {', '.join(f'{c} {_num(v, 3)}' for c, v in weak[:3])})" if weak else ""
            )
            if kappa is None:
                problem = "kappa is undefined: the labels (or the judge's verdicts) never vary"
                step = "label replies across the whole scale, from the worst to the best"
            else:
                problem = f"the judge agrees with your labels too little: kappa {_num(kappa, 3)}{weakest}"
                step = (
                    "sharpen those criteria with anchors (what earns each label, with an example), "
                    f"{reference}or try another judge model (--judge-model a,b compares two)"
                )
            out.append(_failure(name, "kappa", kappa, f">= {KAPPA_MIN}", problem, step))
        flip = d["flip_rate"]
        if (flip is None and repeats >= 2) or (flip is not None and flip > FLIP_RATE_MAX):
            out.append(
                _failure(
                    name,
                    "flip_rate",
                    flip,
                    f"<= {FLIP_RATE_MAX}",
                    f"the verdict changes between identical calls on {_pct(flip)} of rows",
                    "the judge already runs at temperature 0: anchor each label with a concrete description, "
                    "use fewer labels on the scale, or a stronger judge model",
                )
            )
        length = d["length_bias"]
        if length is None or length > LENGTH_BIAS_MAX:
            out.append(
                _failure(
                    name,
                    "length_bias",
                    length,
                    f"<= {LENGTH_BIAS_MAX}",
                    f"padding a reply with neutral prose raises its credit on {_pct(length)} of rows: a policy "
                    "will learn to ramble",
                    "say in the criteria that length earns nothing (text that adds no needed fact or step is "
                    "a fault), pay brevity in a separate, gated dimension, or try another judge model",
                )
            )
        if name in veto_only:
            continue
        master = d["master_key_max_credit"]
        if master is None or master > 0:
            keys = [k for k, v in d["master_key_credits"].items() if v]
            out.append(
                _failure(
                    name,
                    "master_key",
                    master,
                    "0 (the lowest label)",
                    f"a reply with no answer ({', '.join(repr(k) for k in keys)}) earns credit {_num(master)} "
                    "from the judge; the pre-checks floor these known openers, but a policy will find others",
                    "add to the criteria that a reply which does not answer gets the lowest label on every "
                    "criterion, or try another judge model",
                )
            )
        echo = d["rubric_echo_credit"]
        if echo is None or echo > 0:
            out.append(
                _failure(
                    name,
                    "rubric_echo",
                    echo,
                    "0 (the lowest label)",
                    f"the rubric's own text, sent as the reply, earns credit {_num(echo)}",
                    "state in the task or the criteria that restating the criteria is not an answer, "
                    f"{reference}or try another judge model",
                )
            )
    return out


def _failure(
    dimension: str, test: str, value: Any, threshold: str, problem: str, next_step: str
) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "test": test,
        "value": value,
        "threshold": threshold,
        "problem": problem,
        "next_step": next_step,
    }


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "an unmeasured share" if value is None else f"{value:.0%}"


def judge_report(
    model: str,
    dimensions: Sequence[JudgeDimension],
    rows: Sequence[LabelledRow],
    repeats: int,
    jobs: Sequence[Job],
    run: JudgeRun,
) -> dict[str, Any]:
    """The report of one judge model (the ``--json`` shape of a single-judge run, without ``files``)."""
    measured = {d.name: measure_dimension(d, model, rows, jobs, run) for d in dimensions}
    failed = failures(
        measured,
        [d.name for d in dimensions if not d.pays],
        [d.name for d in dimensions if d.grader.params.include_reference],
        repeats,
    )
    for d in dimensions:
        measured[d.name]["pays"] = d.pays
    usage = run.usage.get(model, Usage())
    mine = {j.key for j in jobs if j.model == model}
    ok = [run.judged[key] for key in mine if key in run.judged]
    return {
        "verdict": "untrustworthy" if failed else "trustworthy",
        "rows": len(rows),
        "repeats": repeats,
        "judge_model": model,
        "dimensions": measured,
        "failures": failed,
        "notes": (
            []
            if repeats >= 2
            else ["flip rate not measured: each reply was judged once (--repeats 1); use --repeats 2 or more"]
        ),
        "calls": {
            "made": usage.calls,
            "cached": run.cached.get(model, 0),
            "failed": sum(1 for key in mine if key in run.failed),
            "throttled": usage.throttles,
            "retried": usage.retries,
        },
        "tokens": {
            "input": sum(j.input_tokens for j in ok),
            "output": sum(j.output_tokens for j in ok),
            "input_billed_this_run": usage.input_tokens,
            "output_billed_this_run": usage.output_tokens,
        },
    }


def combined(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One report for the run: a single judge's report as is; several judges: the first judge's report at
    the top level (its verdict decides ``--fail-if-untrustworthy``), every judge's report under
    ``judges`` by model id, and ``calls`` / ``tokens`` summed over all judges (what the run cost)."""
    first = dict(reports[0])
    if len(reports) == 1:
        return first
    first["judges"] = {r["judge_model"]: dict(r) for r in reports}
    first["calls"] = {k: sum(r["calls"][k] for r in reports) for k in reports[0]["calls"]}
    first["tokens"] = {k: sum(r["tokens"][k] for r in reports) for k in reports[0]["tokens"]}
    return first


# --------------------------------------------------------------------------------------------------
# Writing it down.


def write_judgments(path: Path, jobs: Sequence[Job], rows: Sequence[LabelledRow], run: JudgeRun) -> None:
    """Every judgment, one JSON object per line (what the judge said about which reply, and why)."""
    with path.open("w", encoding="utf-8") as stream:
        for job in jobs:
            judged = run.judged.get(job.key)
            record = {
                "judge_model": job.model,
                "dimension": job.dimension,
                "line": rows[job.row].line,
                "probe": job.probe,
                "variant": job.variant,
                "credit": None if judged is None else judged.credit,
                "criteria": None if judged is None else dict(judged.criteria),
                "reason": run.failed.get(job.key, "") if judged is None else judged.reason,
                "response": job.text,
            }
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")


def render(report: Mapping[str, Any], labels: str, spec_name: str) -> str:
    """The terminal report: per judge, the agreement table, the bias probes, the confusion matrices and the
    verdict with its next steps; several judges end with a side-by-side table."""
    reports = list(report["judges"].values()) if "judges" in report else [report]
    lines = []
    for r in reports:
        lines += _render_one(r, labels, spec_name)
        lines.append("")
    if len(reports) > 1:
        lines += _render_side_by_side(reports)
        lines.append("")
    files = report.get("files") or {}
    if files:
        lines.append("wrote " + ", ".join(str(v) for v in files.values()))
    return "\n".join(lines).rstrip()


def _render_one(r: Mapping[str, Any], labels: str, spec_name: str) -> list[str]:
    calls = r["calls"]
    lines = [
        f"rft judge-check: spec {spec_name} on {labels} — judge {r['judge_model']}",
        f"{r['rows']} labelled rows, {r['repeats']} repeats each + 6 probes per row and dimension: "
        f"{calls['made']:,} calls made ({calls['throttled']} throttled, {calls['retried']} retried), "
        f"{calls['cached']:,} from the cache, {calls['failed']} failed",
        "",
        f"{'dimension / criterion':<26}{'n':>5}{'agree':>8}{'±1':>7}{'kappa':>8}{'rho':>8}{'flips':>8}"
        "   kappa 95% CI (rows resampled)",
    ]
    for name, d in r["dimensions"].items():
        lines.append(_metric_row(name, d))
        for cname, c in d["criteria"].items():
            lines.append(_metric_row(f"  {cname}", c))
    lines += [
        "",
        "bias probes (the judge alone / the guarded grader, pre-checks first):",
        f"{'dimension':<14}{'length bias':>16}{'master key':>16}{'rubric echo':>16}",
    ]
    for name, d in r["dimensions"].items():
        g = d["guarded"]
        lines.append(
            f"{name:<14}{_pair(d['length_bias'], g['length_bias']):>16}"
            f"{_pair(d['master_key_max_credit'], g['master_key_max_credit']):>16}"
            f"{_pair(d['rubric_echo_credit'], g['rubric_echo_credit']):>16}"
        )
    for name, d in r["dimensions"].items():
        lines += ["", f"confusion, {name} (rows: human, columns: judge; every judgment of every repeat):"]
        scale = d["scale"]
        width = max(6, *(len(s) for s in scale)) + 1
        lines.append(" " * width + "".join(f"{s[: width - 1]:>{width}}" for s in scale))
        for label, counts in zip(scale, d["confusion"]):
            lines.append(f"{label:<{width}}" + "".join(f"{c:>{width}}" for c in counts))
    lines += ["", f"verdict: {r['verdict']}"]
    lines += [f"  note: {note}" for note in r.get("notes", ())]
    for f in r["failures"]:
        lines.append(f"  - {f['dimension']} {f['test']}: {f['problem']}. Next: {f['next_step']}.")
    lines.append(f"  ({THRESHOLDS})")
    return lines


def _metric_row(name: str, d: Mapping[str, Any]) -> str:
    return (
        f"{name:<26}{d['n']:>5}{_num(d['agreement'], 3):>8}{_num(d['within_one'], 3):>7}"
        f"{_num(d['kappa'], 3):>8}{_num(d['spearman'], 3):>8}{_num(d['flip_rate'], 3):>8}"
        + (f"   [{_num(d['kappa_ci95'][0])}, {_num(d['kappa_ci95'][1])}]" if d.get("kappa_ci95") else "")
    )


def _pair(raw: float | None, guarded: float | None) -> str:
    return f"{_num(raw)} / {_num(guarded)}"


def _render_side_by_side(reports: Sequence[Mapping[str, Any]]) -> list[str]:
    models = [r["judge_model"] for r in reports]
    width = max(14, *(len(m) + 2 for m in models))
    lines = ["judges side by side:", f"{'':<32}" + "".join(f"{m:>{width}}" for m in models)]
    keys = (
        "agreement",
        "kappa",
        "spearman",
        "flip_rate",
        "length_bias",
        "master_key_max_credit",
        "rubric_echo_credit",
    )
    for name in reports[0]["dimensions"]:
        for key in keys:
            values = "".join(f"{_num(r['dimensions'][name][key]):>{width}}" for r in reports)
            lines.append(f"{name + ' ' + key:<32}{values}")
    lines.append(f"{'verdict':<32}" + "".join(f"{r['verdict']:>{width}}" for r in reports))
    return lines


__all__ = [
    "DEFAULT_REPEATS",
    "MASTER_KEYS",
    "THRESHOLDS",
    "Job",
    "JudgeRun",
    "JudgeUnavailable",
    "Judgment",
    "combined",
    "estimate",
    "failures",
    "judge_all",
    "judge_report",
    "measure_dimension",
    "padded",
    "plan_jobs",
    "render",
    "rubric_echo",
    "write_judgments",
]
