"""The verdict of ``rft judge-check``: the thresholds, each failed test with a concrete next step, one
judge's report and the report of several judges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reward.bedrock_runtime import Usage
from rft.judge_check.judging import DEFAULT_REPEATS, Job, JudgeRun
from rft.judge_check.labels import JudgeDimension, LabelledRow
from rft.judge_check.measures import measure_dimension, number, percent

#: The verdict's thresholds.
KAPPA_MIN = 0.6
FLIP_RATE_MAX = 0.10
LENGTH_BIAS_MAX = 0.10
THRESHOLDS = (
    f"trustworthy when, for every judge dimension, kappa >= {KAPPA_MIN}, flip rate <= {FLIP_RATE_MAX:.0%}, "
    f"length bias <= {LENGTH_BIAS_MAX:.0%} of rows, and no master-key or rubric-echo reply earns more than "
    "the lowest label (credit 0)"
)


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
                f" (weakest criteria: {', '.join(f'{c} {number(v, 3)}' for c, v in weak[:3])})"
                if weak
                else ""
            )
            if kappa is None:
                problem = "kappa is undefined: the labels (or the judge's verdicts) never vary"
                step = "label replies across the whole scale, from the worst to the best"
            else:
                problem = f"the judge agrees with your labels too little: kappa {number(kappa, 3)}{weakest}"
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
                    f"the verdict changes between identical calls on {percent(flip)} of rows",
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
                    f"padding a reply with neutral prose raises its credit on {percent(length)} of rows: a policy "
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
                    f"a reply with no answer ({', '.join(repr(k) for k in keys)}) earns credit {number(master)} "
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
                    f"the rubric's own text, sent as the reply, earns credit {number(echo)}",
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
