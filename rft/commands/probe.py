"""``rft probe``: attack a reward spec with known reward hacks; the attacks and the tally are
``rft.probe``.
"""

from __future__ import annotations

import argparse

from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_skip_invalid, check_at_least_one
from rft.grading import gradability, use_spec
from rft.output import output_dir, write_jsonl
from rft.probe import probe, report
from rft.rows import load_rows

HELP = "probe a reward spec with known reward hacks (exit 1 if any family beats its bar)"
DESCRIPTION = (
    "Try known reward hacks on every row and report which ones the spec pays for. For each row the "
    "positive control (the reference answer written with the spec's control_template) and every family "
    "of attacks (hedging, padding, echoing the prompt, format tricks, crashes, stalls, ...) are graded "
    "with the reward Lambda's own code. A response that does not commit to exactly the right answer wins "
    "a row when it scores above the row's honest wrong answer; a right answer with a flaw (padding, "
    "scaffold) wins when it scores at or above the reference. The probe fails (exit status 1) when some "
    "family wins more than --threshold of the rows it applies to, or when fewer than 99% of the rows "
    "could be probed: train on that spec and the model will learn the hack instead of the task."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("probe", help=HELP, description=DESCRIPTION)
    parser.add_argument("--spec", required=True, help="reward spec (TOML)")
    parser.add_argument("--data", required=True, help="dataset (Nova RFT JSONL)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.01,
        metavar="RATE",
        help="fail when a family wins more than this fraction of rows (default 0.01 = 1%%)",
    )
    parser.add_argument("--out", metavar="DIR", help="write probe.jsonl and probe.png here")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--limit", type=int, metavar="N", help="probe only the first N rows")
    parser.add_argument(
        "--batch", type=int, default=256, metavar="N", help="samples per handler call (default 256)"
    )
    add_skip_invalid(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    if not 0 <= args.threshold < 1:
        raise CliError(f"--threshold must be in [0, 1), got {args.threshold}")
    check_at_least_one(("--batch", args.batch), ("--limit", args.limit))
    spec = use_spec(args.spec)
    rows = load_rows(args.data, limit=args.limit, err=ctx.err)
    _, refused = gradability(spec, rows, spec_path=args.spec, data_path=args.data)
    if refused:
        print(f"nothing was probed: {refused}", file=ctx.out)
        return EXIT_FAILURE
    result, records = probe(spec, rows, threshold=args.threshold, batch_size=args.batch, err=ctx.err)
    nothing = result.nothing_probed()
    if nothing:
        print(nothing, file=ctx.out)
        return EXIT_FAILURE
    if args.json:
        import json

        print(json.dumps(result.as_dict(), ensure_ascii=False), file=ctx.out)
    else:
        print(report(result, args.spec, args.data), file=ctx.out)
    if args.out:
        directory = output_dir(args.out)
        write_jsonl(directory / "probe.jsonl", records)
        from rft.plots import probe_distributions

        probe_distributions(
            directory / "probe.png",
            result.control,
            {f.family: f.scores for f in result.families if f.n},
            failing=[f.family for f in result.failing],
            title=f"rft probe: {result.spec_name} on {len(rows)} rows",
        )
        if not args.json:
            print(f"\nwrote {directory / 'probe.jsonl'} and {directory / 'probe.png'}", file=ctx.out)
    skipped = None if args.skip_invalid else rows.skipped_error()
    if skipped:
        print(f"rft probe: error: {skipped}", file=ctx.err)
    return EXIT_FAILURE if result.failing or skipped else EXIT_OK
