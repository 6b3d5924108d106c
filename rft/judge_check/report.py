"""What ``rft judge-check`` writes: every judgment (``judgments.jsonl``) and the terminal report."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rft.judge_check.judging import Job, JudgeRun
from rft.judge_check.labels import LabelledRow
from rft.judge_check.measures import number
from rft.judge_check.verdict import THRESHOLDS


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
        f"{name:<26}{d['n']:>5}{number(d['agreement'], 3):>8}{number(d['within_one'], 3):>7}"
        f"{number(d['kappa'], 3):>8}{number(d['spearman'], 3):>8}{number(d['flip_rate'], 3):>8}"
        + (f"   [{number(d['kappa_ci95'][0])}, {number(d['kappa_ci95'][1])}]" if d.get("kappa_ci95") else "")
    )


def _pair(raw: float | None, guarded: float | None) -> str:
    return f"{number(raw)} / {number(guarded)}"


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
            values = "".join(f"{number(r['dimensions'][name][key]):>{width}}" for r in reports)
            lines.append(f"{name + ' ' + key:<32}{values}")
    lines.append(f"{'verdict':<32}" + "".join(f"{r['verdict']:>{width}}" for r in reports))
    return lines
