"""``rft score``: grade responses — or the dataset's reference answers — with a reward spec.

Without ``--responses`` every row's reference answer, written as a response with the spec's
``control_template`` (``reward.controls.positive_control``), is graded: the positive control, which a
sound reward scores at the top. With ``--responses FILE`` (JSONL of ``{"task_id": ..., "response": ...}``
or ``{"line": N, "response": ...}``) those responses are graded against their rows. Grading goes through
``reward.grading.grade_event`` (the handler's code) — or, with ``--remote FUNCTION``, the deployed reward Lambda.

Graded locally, each dimension's ``reason`` goes into ``scores.jsonl``. When the positive control scores
below the top (+1) on more than a few rows (``FEW_ROWS``), the spec or the data is wrong (a placeholder
that names the wrong field, a reference the grader cannot use): ``rft score`` says so on stderr with the
most common reasons and exits 1.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from rft.aws import client
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_skip_invalid, check_at_least_one
from rft.grading import (
    Scored,
    gradability,
    grade_all,
    lambda_grader,
    local_grader,
    read_reply_element,
    use_spec,
)
from rft.output import output_dir, write_jsonl
from rft.responses import read_responses
from rft.rows import Row, event_element, load_rows
from rft.stats import summarize, text_histogram
from rft.ui import progress_bar

HELP = "grade responses (or the reference answers) and show the reward distribution"
DESCRIPTION = (
    "Grade responses with a reward spec and show the reward distribution, per dimension and overall. "
    "Without --responses, every row's reference answer is graded, written the way the spec's "
    "control_template says: the positive control, which a sound reward scores at the top. With "
    '--responses FILE (JSONL of {"task_id": ..., "response": ...} or {"line": N, "response": ...}) those '
    "responses are graded against their rows. Grading runs the reward Lambda's own code in this process, "
    "or, with --remote FUNCTION, calls the deployed reward Lambda."
)


#: The positive control may miss the top on this many rows (or 1% of them, if more) before it is an error.
FEW_ROWS = 2
_TIE = 1e-9


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help=HELP, description=DESCRIPTION)
    parser.add_argument("--spec", required=True, help="reward spec (TOML), e.g. reward_specs/gsm8k.toml")
    parser.add_argument("--data", required=True, help="dataset (Nova RFT JSONL)")
    parser.add_argument(
        "--responses",
        metavar="FILE",
        help='JSONL of {"task_id"|"line": ..., "response": "..."} to grade (default: the reference answers)',
    )
    parser.add_argument("--out", metavar="DIR", help="write scores.jsonl and histograms.png here")
    parser.add_argument(
        "--remote", metavar="FUNCTION", help="grade with the deployed reward Lambda (name or ARN) instead"
    )
    parser.add_argument("--region", help="AWS region for --remote (default: AWS_REGION, else us-east-1)")
    parser.add_argument("--batch", type=int, default=64, metavar="N", help="samples per batch (default 64)")
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="batches in flight with --remote (default 4)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="grade only the first N rows")
    add_skip_invalid(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    out, err = ctx.out, ctx.err
    check_at_least_one(("--batch", args.batch), ("--concurrency", args.concurrency), ("--limit", args.limit))
    spec = use_spec(args.spec)
    rows = load_rows(args.data, limit=args.limit, err=err)
    _, refused = gradability(spec, rows, spec_path=args.spec, data_path=args.data)
    if refused:
        raise CliError(f"{args.spec} with {args.data}: {refused}")
    pairs: list[tuple[Row, str, int | None]]
    if args.responses:
        pairs = list(read_responses(Path(args.responses), rows))
        what = f"{len(pairs)} responses from {args.responses}"
    else:
        from reward.controls import positive_control

        pairs = [(row, positive_control(spec.control_template, row.reference), None) for row in rows]
        what = f"{len(pairs)} reference answers (positive control)"
    elements = [event_element(row, text, f"{i}:{row.line}") for i, (row, text, _) in enumerate(pairs)]

    if args.remote:
        grader = lambda_grader(client(ctx, "lambda", args.region), args.remote)
        concurrency, where = args.concurrency, f"the deployed function {args.remote}"
    else:
        grader, concurrency, where = local_grader(spec, with_reasons=True), 1, "lambda_handler (local)"
    from reward.contract import check_reply

    started = time.perf_counter()
    progress = progress_bar(len(elements), "scoring", err=err, unit="sample")
    reply = grade_all(
        elements, grader, batch_size=args.batch, concurrency=concurrency, progress=progress, check=check_reply
    )
    elapsed = time.perf_counter() - started

    dimensions = [d.name for d in spec.dimensions]
    scored = [read_reply_element(element, dimensions) for element in reply]
    reasons = [element.get("reasons") or {} for element in reply]
    print(
        f"spec {spec.name} ({args.spec}) on {args.data}: {what} graded by {where} in {elapsed:.2f} s",
        file=out,
    )
    print(file=out)
    print(stats_table(scored, dimensions), file=out)
    print(f"\nhistogram of the aggregate reward ({len(scored)} samples):", file=out)
    print(text_histogram([s.aggregate for s in scored]), file=out)

    if args.out:
        directory = output_dir(args.out)
        write_jsonl(
            directory / "scores.jsonl",
            (
                {
                    "line": row.line,
                    "task_id": row.task_id,
                    **({"responses_line": source} if source is not None else {}),
                    "aggregate": s.aggregate,
                    "rewards": dict(s.rewards),
                    "statuses": dict(s.statuses),
                    **({"reasons": why} if not args.remote else {}),
                }
                for (row, _, source), s, why in zip(pairs, scored, reasons)
            ),
        )
        from rft.plots import score_histograms

        series = {d: [s.rewards.get(d, 0.0) for s in scored] for d in dimensions}
        series["aggregate"] = [s.aggregate for s in scored]
        score_histograms(directory / "histograms.png", series, title=f"{spec.name}: {what}")
        print(f"\nwrote {directory / 'scores.jsonl'} and {directory / 'histograms.png'}", file=out)
    code = EXIT_OK
    if not args.responses:
        report = control_report(pairs, scored, reasons)
        if report:
            print(report, file=err)
            code = EXIT_FAILURE
    skipped = None if args.skip_invalid else rows.skipped_error()
    if skipped:  # last, so a CI log ends with it
        print(f"rft score: error: {skipped}", file=err)
        code = EXIT_FAILURE
    return code


def control_report(
    pairs: Sequence[tuple[Row, str, int | None]],
    scored: Sequence[Scored],
    reasons: Sequence[Mapping[str, str]],
) -> str:
    """The loud warning when the positive control misses the top on more than a few rows ("" when fine):
    how many rows, the most common reasons and an example row for each."""
    below = [
        (row, s, why)
        for (row, _, _), s, why in zip(pairs, scored, reasons)
        if s.aggregate < 1.0 - _TIE or any(status != "ok" for status in s.statuses.values())
    ]
    if len(below) <= max(FEW_ROWS, len(pairs) // 100):
        return ""
    counts: Counter[str] = Counter()
    example: dict[str, Row] = {}
    for row, s, why in below:
        for dimension, status in s.statuses.items():
            reward = s.rewards.get(dimension, 0.0)
            if status == "ok" and reward >= 1.0 - _TIE:
                continue
            text = why.get(dimension) or "(no reason given)"
            key = f"{dimension} [{status}]: {text}"
            counts[key] += 1
            example.setdefault(key, row)
    lines = [
        f"error: the positive control (each reference answer written with the spec's control_template) scores "
        f"below the top (+1.000) on {len(below)} of {len(pairs)} rows. A sound spec pays its own reference "
        "answers in full: fix control_template, the grader's parameters or the reference answers before training."
    ]
    lines.append("most common reasons (run without --remote to see them all; --out DIR writes them per row):")
    for key, n in counts.most_common(5):
        lines.append(f"  {n:>5} × {key}  (e.g. {example[key].label})")
    return "\n".join(lines)


def stats_table(scored: Sequence[Scored], dimensions: Sequence[str]) -> str:
    """Per-dimension and aggregate statistics, with each dimension's status counts."""
    header = f"{'dimension':<16} {'n':>6} {'mean':>7} {'std':>6} {'min':>6} {'p10':>6} {'p50':>6} {'p90':>6} {'max':>6}  statuses"
    lines = [header, "-" * len(header)]
    for name in [*dimensions, "aggregate"]:
        if name == "aggregate":
            values = [s.aggregate for s in scored]
            statuses = ""
        else:
            values = [s.rewards.get(name, 0.0) for s in scored]
            counts = Counter(s.statuses.get(name, "ok") for s in scored)
            statuses = ", ".join(f"{status} {n}" for status, n in counts.most_common())
        m = summarize(values)
        lines.append(
            f"{name:<16} {m.n:>6} {m.mean:>+7.3f} {m.std:>6.3f} {m.min:>+6.2f} {m.p10:>+6.2f} {m.p50:>+6.2f} "
            f"{m.p90:>+6.2f} {m.max:>+6.2f}  {statuses}"
        )
    return "\n".join(lines)
