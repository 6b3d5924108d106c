"""``rft validate-data FILE…``: the Nova RFT dataset rules (docs/contract.md §2), via ``reward.dataset``.

The very validator ``cdk synth`` runs on the training and validation data, called the same way (the
file's role decides the row rules), so both give the same verdict on every file. Exit status 0 when no
file has an error (warnings do not fail), 1 when some file has one.
"""

from __future__ import annotations

import argparse
import json

from reward.dataset import (
    DEFAULT_MAX_ROWS,
    ROLES,
    TRAINING_MIN_ROWS,
    VALIDATION_RECOMMENDED_ROWS,
    format_findings,
    guess_role,
    validate_dataset_file,
)
from rft.core import EXIT_FAILURE, EXIT_OK, CliError, Context

HELP = "check dataset files against the Nova RFT rules"
DESCRIPTION = (
    "Check JSONL dataset files against the Nova RFT dataset rules: every error and warning with its "
    "line number and a fix, the same verdict `cdk synth` gives. A training file needs at least "
    f"{TRAINING_MIN_ROWS} records (AWS's minimum); a validation file at least one, and fewer than "
    f"{VALIDATION_RECOMMENDED_ROWS} is a warning. A file whose name says validation (validation.jsonl, "
    "val_30.jsonl, eval.jsonl, dev, test, holdout) is checked as one unless --role says otherwise. "
    "Exit status 0 when no file has an error, 1 when one has, 2 on usage errors."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate-data", help=HELP, description=DESCRIPTION)
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSONL dataset file(s)")
    parser.add_argument(
        "--role",
        choices=("auto", *ROLES),
        default="auto",
        help="what the files are for: training or validation data (default auto: from each file's name)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON report per file (machine-readable)"
    )
    parser.add_argument(
        "--min-rows",
        type=int,
        metavar="N",
        help=f"fewest records allowed (default {TRAINING_MIN_ROWS} for training data, 1 for validation data)",
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
    if args.min_rows is not None and (args.min_rows < 0 or args.max_rows < args.min_rows):
        raise CliError(f"--min-rows ({args.min_rows}) must be >= 0 and <= --max-rows ({args.max_rows})")
    if args.max_rows < 0:
        raise CliError(f"--max-rows must be >= 0, got {args.max_rows}")
    failed = False
    for path in args.files:
        role = guess_role(path) if args.role == "auto" else args.role
        report = validate_dataset_file(path, role=role, min_rows=args.min_rows, max_rows=args.max_rows)
        failed = failed or not report.ok
        if args.json:
            print(json.dumps({"file": path, **report.as_dict()}, ensure_ascii=False), file=out)
        else:
            print(format_findings(report, path), file=out)
    return EXIT_FAILURE if failed else EXIT_OK
