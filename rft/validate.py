"""``rft validate-data FILE…``: the Nova RFT dataset rules (docs/contract.md §2), via ``reward.dataset``.

The very validator ``cdk synth`` runs on the training data, so both give the same verdict. Exit status 0
when no file has an error (warnings do not fail), 1 when some file has one.
"""

from __future__ import annotations

import argparse
import json

from reward.dataset import DEFAULT_MAX_ROWS, DEFAULT_MIN_ROWS, format_findings, validate_dataset_file
from rft.core import EXIT_FAILURE, EXIT_OK, CliError, Context

HELP = "check dataset files against the Nova RFT rules"
DESCRIPTION = (
    "Check JSONL dataset files against the Nova RFT dataset rules: every error and warning with its "
    "line number and a fix. Exit status 0 when no file has an error, 1 when one has, 2 on usage errors."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate-data", help=HELP, description=DESCRIPTION)
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSONL dataset file(s)")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON report per file (machine-readable)"
    )
    parser.add_argument(
        "--min-rows",
        type=int,
        default=DEFAULT_MIN_ROWS,
        metavar="N",
        help=f"fewest records allowed (default {DEFAULT_MIN_ROWS}, Bedrock's minimum)",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=DEFAULT_MAX_ROWS,
        metavar="N",
        help=f"most records allowed (default {DEFAULT_MAX_ROWS}, Bedrock's maximum)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    out = ctx.out
    if args.min_rows < 0 or args.max_rows < args.min_rows:
        raise CliError(f"--min-rows ({args.min_rows}) must be >= 0 and <= --max-rows ({args.max_rows})")
    failed = False
    for path in args.files:
        report = validate_dataset_file(path, min_rows=args.min_rows, max_rows=args.max_rows)
        failed = failed or not report.ok
        if args.json:
            print(json.dumps({"file": path, **report.as_dict()}, ensure_ascii=False), file=out)
        else:
            print(format_findings(report, path), file=out)
    return EXIT_FAILURE if failed else EXIT_OK
