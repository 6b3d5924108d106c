"""``rft report``: the RFT job's training curves, from the metrics files in its S3 output
(``rft.curves``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rft.aws import TERMINAL, aws_call, client, job_arn_of
from rft.context import Context
from rft.curves import REPORT_PERMISSIONS, find_curves, find_metric_files, plot_curves, warnings_for
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_stack_target
from rft.output import output_dir

HELP = "training curves of the RFT job: reward over steps, from the metrics files in its S3 output"
DESCRIPTION = (
    "List the job's S3 output, read the metrics files it wrote (CSV/JSON; AWS does not document the RFT "
    "layout, so every metrics-like file is read and reward series are recognized by name), print a summary "
    "and plot reward over steps (training mean, min–max band, validation reward) into "
    "<OUT>/training_curves.png. Exit status 1 when no reward metrics are found (it says where it looked). "
    "Needs: " + ", ".join(REPORT_PERMISSIONS) + "."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help=HELP, description=DESCRIPTION)
    target = add_stack_target(parser, reads="training")
    target.add_argument("--job", metavar="ARN", help="the job's ARN (or name)")
    parser.add_argument("--out", default="out", metavar="DIR", help="where the PNG goes (default out/)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def _summary(points: list[tuple[float, float]]) -> dict[str, float]:
    values = [v for _, v in points]
    return {
        "points": len(points),
        "first_step": points[0][0],
        "last_step": points[-1][0],
        "first": values[0],
        "last": values[-1],
        "best": max(values),
    }


def run(args: argparse.Namespace, ctx: Context) -> int:
    job = args.job or job_arn_of(ctx, args.stack, args.region)
    bedrock = client(ctx, "bedrock", args.region)
    reply = aws_call(
        f"GetModelCustomizationJob {job}",
        bedrock.get_model_customization_job,
        needs=REPORT_PERMISSIONS,
        jobIdentifier=job,
    )
    job_arn = reply.get("jobArn", job)
    status = reply.get("status", "?")
    output_uri = (reply.get("outputDataConfig") or {}).get("s3Uri", "")
    if not output_uri:
        raise CliError(f"job {job} has no outputDataConfig.s3Uri: nothing to read", EXIT_FAILURE)
    search = find_metric_files(client(ctx, "s3", args.region), output_uri, job_arn)
    files, searched = search.files, search.searched
    curves = find_curves(files)
    png: Path | None = None
    if curves.found:
        out = output_dir(args.out)
        png = plot_curves(
            out / "training_curves.png", curves, title=f"{reply.get('jobName', job)} ({status})"
        )
    roles = {
        "train_mean": curves.train_mean,
        "train_min": curves.train_min,
        "train_max": curves.train_max,
        "validation": curves.validation,
    }
    api_metrics = {
        k: reply[k] for k in ("trainingMetrics", "validationMetrics") if reply.get(k)
    }  # SFT-style loss Bedrock returns with the job
    notes = warnings_for(curves)
    if args.json:
        print(
            json.dumps(
                {
                    "job_arn": job_arn,
                    "status": status,
                    "searched": searched,
                    "files": [
                        {"uri": f.uri, "series": sorted(f.series), "problem": f.problem} for f in files
                    ],
                    "other_keys": search.other_keys[:100],
                    "curves": {
                        role: {"metric": curves.names[role], **_summary(p)} for role, p in roles.items() if p
                    },
                    "api_metrics": api_metrics,
                    "warnings": notes,
                    "png": str(png) if png else None,
                }
            ),
            file=ctx.out,
        )
        return EXIT_OK if curves.found else EXIT_FAILURE
    print(f"job      {reply.get('jobName', job)}  ({status})", file=ctx.out)
    print(f"searched {', '.join(searched)}", file=ctx.out)
    for file in files:
        shown = f"{len(file.series)} series" if file.series else file.problem
        print(f"  {file.uri}: {shown}", file=ctx.out)
    if not curves.found:
        found = (
            "no metrics files (.csv/.json/.jsonl)" if not files else "no reward series in the metrics files"
        )
        print(
            f"\nno training curves: {found} under {' or '.join(searched)}. AWS does not document where RFT "
            "jobs write their metrics; the console's job page shows them (Custom models → the job → "
            "Training metrics).",
            file=ctx.out,
        )
        if search.other_keys:
            shown = ", ".join(search.other_keys[:5]) + (" …" if len(search.other_keys) > 5 else "")
            print(f"other objects there ({len(search.other_keys)}), not read: {shown}", file=ctx.out)
        if status not in TERMINAL:
            print(f"The job is {status}: metrics may appear as it trains.", file=ctx.out)
        return EXIT_FAILURE
    print(f"\n{'curve':<12} {'metric':<28} {'steps':>11} {'first':>8} {'last':>8} {'best':>8}", file=ctx.out)
    for role, points in roles.items():
        if points:
            s = _summary(points)
            steps = f"{s['first_step']:g}..{s['last_step']:g}"
            print(
                f"{role:<12} {curves.names[role]:<28} {steps:>11} {s['first']:>8.3f} {s['last']:>8.3f} "
                f"{s['best']:>8.3f}",
                file=ctx.out,
            )
    for key, value in api_metrics.items():
        print(f"{key}: {value}", file=ctx.out)
    for note in notes:
        print(f"warning: {note}", file=ctx.out)
    print(f"\nwrote {png}", file=ctx.out)
    return EXIT_OK
