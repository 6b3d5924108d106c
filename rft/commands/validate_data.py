"""``rft validate-data FILE…``: the Nova RFT dataset rules (docs/contract.md §2), via ``reward.dataset``.

The very validator ``cdk synth`` runs on the training and validation data, called the same way (the
file's role decides the row rules), so both give the same verdict on every file. Exit status 0 when no
file has an error (warnings do not fail), 1 when some file has one.

With ``--spec SPEC`` every valid row's reference answer is also written as a response (the spec's
``control_template``) and graded: rows a dimension cannot grade (``no_reference``, e.g. a ``math``
reference in words, "forty two") are counted per dimension with the most common reasons. They are
warnings: training leaves such rows out of that dimension, so they waste prompts, but they break nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reward.dataset import (
    DEFAULT_MAX_ROWS,
    ROLES,
    TRAINING_MIN_ROWS,
    VALIDATION_RECOMMENDED_ROWS,
    format_findings,
    guess_role,
    validate_dataset_file,
    validation_words,
)
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.grading import gradability, use_spec
from rft.rows import load_rows

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
    parser.add_argument(
        "--spec",
        metavar="SPEC",
        help="also grade each row's reference answer with this reward spec and count the rows a dimension "
        "cannot grade (no_reference), with the reasons",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    out = ctx.out
    if args.min_rows is not None and (args.min_rows < 0 or args.max_rows < args.min_rows):
        raise CliError(f"--min-rows ({args.min_rows}) must be >= 0 and <= --max-rows ({args.max_rows})")
    if args.max_rows < 0:
        raise CliError(f"--max-rows must be >= 0, got {args.max_rows}")
    for path in args.files:  # a file that is not there is a usage error (exit 2), before any verdict
        if not Path(path).is_file():
            raise CliError(f"{path}: no such file" if not Path(path).exists() else f"{path}: not a file")
    failed = False
    for path in args.files:
        role = guess_role(path) if args.role == "auto" else args.role
        report = validate_dataset_file(path, role=role, min_rows=args.min_rows, max_rows=args.max_rows)
        failed = failed or not report.ok
        if args.json:
            print(json.dumps({"file": path, **report.as_dict()}, ensure_ascii=False), file=out)
        else:
            print(f"{path}: {rules_applied(path, role, args.role)}", file=out)
            print(format_findings(report, path), file=out)
        if args.spec and report.ok and not args.json:
            print(reference_check(args.spec, path), file=out)
    return EXIT_FAILURE if failed else EXIT_OK


def rules_applied(path: str, role: str, asked: str) -> str:
    """Which rules a file is checked with, and why (its name, or --role)."""
    if asked != "auto":
        return f"checked as {role} data (--role {role})"
    if role == "validation":
        words = validation_words(path)
        return (
            f"checked as validation data: its name says {', '.join(repr(w) for w in words)} "
            "(--role training to check it as training data)"
        )
    return "checked as training data (--role validation for a validation file)"


def reference_check(spec_path: str, data_path: str) -> str:
    """How many rows of ``data_path`` the spec cannot grade the reference answer of, per dimension, and why
    (``reward.controls.check_gradable``: no network, no sandbox). Raises ``CliError`` (one line: the count
    and the first row) when that is more than 1% of the rows: training on the pair would teach nothing."""
    from collections import Counter

    spec = use_spec(spec_path)
    rows = load_rows(data_path)
    report, refused = gradability(spec, rows, spec_path=spec_path, data_path=data_path)
    if refused:
        raise CliError(f"{spec_path} with {data_path}: {refused}")
    counts: dict[str, Counter[str]] = {d.name: Counter() for d in spec.dimensions}
    for _, name, reason in report.ungradable:
        counts[name][reason] += 1
    lines = [f"reference answers against {spec_path}: {len(rows)} rows checked"]
    for name, reasons in counts.items():
        n = sum(reasons.values())
        if not n:
            lines.append(f"  {name}: every row has a usable reference")
            continue
        lines.append(f"  warning: {name}: {n} of {len(rows)} rows cannot be graded:")
        lines += [f"    {k:>5} × {reason}" for reason, k in reasons.most_common(5)]
    return "\n".join(lines)
