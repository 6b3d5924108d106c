"""``rft judge-check``: measure the spec's LLM judge against your labels, against itself and against known
tricks, before a policy is trained to please it.

The work is in the ``rft.judge_check`` package (labels, probes, judging, measures, verdict, report)."""

from __future__ import annotations

import argparse
import json
import os

from rft import judge_check
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.grading import use_spec
from rft.output import output_dir

HELP = "measure the spec's LLM judge: agreement with your labels, consistency, biases"
DEFAULT_OUT = "out/judge-check"
MAX_REPEATS = 10


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "judge-check",
        help=HELP,
        description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog=f"Verdict: {judge_check.THRESHOLDS}. Exit status: 0 done (1 with --fail-if-untrustworthy on an "
        "untrustworthy judge), 1 a failure calling the judge, 2 a usage error. See docs/judge.md, "
        '"Check your judge".',
    )
    parser.add_argument(
        "--spec", required=True, metavar="SPEC", help="reward spec (TOML) with judge dimensions"
    )
    parser.add_argument(
        "--labels",
        required=True,
        metavar="FILE",
        help="labelled replies (JSONL: messages, reference_answer, response, human)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=judge_check.DEFAULT_REPEATS,
        metavar="R",
        help=f"judge each reply R times to measure self-consistency (default {judge_check.DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--judge-model",
        metavar="ID",
        help="judge model(s), comma-separated to compare (default: JUDGE_MODEL_ID, else judge_model_id in "
        "cdk.json)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="use only the first N labelled rows (>= 20)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"reports and the judgment cache (default {DEFAULT_OUT})",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--yes", action="store_true", help="do not ask before making the calls")
    parser.add_argument(
        "--fail-if-untrustworthy", action="store_true", help="exit 1 when the verdict is untrustworthy (CI)"
    )
    parser.set_defaults(run=run)


def judge_models(flag: str | None) -> list[str]:
    """``--judge-model a,b`` as a list; default ``JUDGE_MODEL_ID``, then cdk.json, then the grader's."""
    if flag is not None:
        models = list(dict.fromkeys(m.strip() for m in flag.split(",") if m.strip()))
        if not models:
            raise CliError(f"--judge-model {flag!r}: give a model id (or several, comma-separated)")
        return models
    from reward.graders.judge import DEFAULT_MODEL_ID, MODEL_ENV
    from rft.project import context_defaults

    return [
        os.environ.get(MODEL_ENV, "").strip()
        or str(context_defaults().get("judge_model_id") or "").strip()
        or DEFAULT_MODEL_ID
    ]


def run(args: argparse.Namespace, ctx: Context) -> int:
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise CliError(
            f"--repeats {args.repeats}: must be between 1 and {MAX_REPEATS} (2 or more measure the flip rate)"
        )
    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit {args.limit}: must be a positive number of rows")
    models = judge_models(args.judge_model)
    spec = use_spec(args.spec)
    dimensions = judge_check.judge_dimensions(spec)
    rows = judge_check.load_labels(args.labels, dimensions, limit=args.limit)
    out = output_dir(args.out)

    from rft.sampling import ResponseCache, confirm
    from rft.ui import progress_bar

    cache = ResponseCache(out / "cache")
    jobs = judge_check.plan_jobs(models, dimensions, rows, args.repeats)
    estimates = judge_check.estimate(jobs, cache, dimensions, rows)
    if any(e.calls for e in estimates):  # no route to Bedrock: one line now, not minutes of retries
        from reward.bedrock_runtime import region
        from rft.aws_errors import check_reachable

        problem = check_reachable("bedrock-runtime", region())
        if problem is not None:
            raise CliError(problem, EXIT_FAILURE)
    confirm(estimates, yes=args.yes, err=ctx.err, quiet=False)
    todo = sum(e.calls for e in estimates)
    progress = progress_bar(todo, "judging", err=ctx.err, enabled=not args.json)
    try:
        judged = judge_check.judge_all(jobs, dimensions, rows, cache, progress=progress)
    except judge_check.JudgeUnavailable as exc:
        raise CliError(f"{exc}. Judgments so far are cached: rerun after fixing it.", EXIT_FAILURE) from None

    reports = [judge_check.judge_report(m, dimensions, rows, args.repeats, jobs, judged) for m in models]
    report = judge_check.combined(reports)
    report["thresholds"] = judge_check.THRESHOLDS
    report["spec"] = spec.name
    report["labels"] = str(args.labels)
    report["cost_estimate"] = [e.as_dict() for e in estimates]
    judge_check.write_judgments(out / "judgments.jsonl", jobs, rows, judged)

    from rft.plots import confusion_matrices

    matrices = {
        (f"{r['judge_model']}: {name}" if len(reports) > 1 else name): (d["scale"], d["confusion"])
        for r in reports
        for name, d in r["dimensions"].items()
    }
    png = confusion_matrices(
        out / "confusion.png", matrices, title=f"{spec.name}: judge vs human labels ({args.labels})"
    )
    report["files"] = {
        "report": str(out / "judge-check.json"),
        "judgments": str(out / "judgments.jsonl"),
        "confusion": str(png),
    }
    (out / "judge-check.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2), file=ctx.out)
    else:
        print(judge_check.render(report, str(args.labels), spec.name), file=ctx.out)
    if args.fail_if_untrustworthy and report["verdict"] != "trustworthy":
        return EXIT_FAILURE
    return EXIT_OK


__all__ = ["add_parser", "judge_models", "run"]
