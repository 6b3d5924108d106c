"""``rft status``: the RFT job's status and phases, once or until it ends (``--watch``)."""

from __future__ import annotations

import argparse

from rft.aws import TERMINAL, aws_call, client, describe_job, job_arn_of
from rft.context import Context
from rft.errors import EXIT_FAILURE, EXIT_OK, CliError
from rft.flags import add_stack_target

HELP = "show the RFT job's status (from the training stack's outputs or a job ARN)"
DESCRIPTION = (
    "Show the Bedrock RFT job's status, its phases (validation, data processing, training), failure "
    "message and output model. With --watch, poll until the job completes, fails or stops. Exit status 1 "
    "when the job has failed or was stopped."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help=HELP, description=DESCRIPTION)
    target = add_stack_target(parser, reads="training")
    target.add_argument("--job", metavar="ARN", help="the job's ARN (or name)")
    parser.add_argument("--watch", action="store_true", help="poll until the job reaches a terminal state")
    parser.add_argument(
        "--interval", type=float, default=60.0, metavar="S", help="seconds between polls (default 60)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.interval <= 0:
        raise CliError("--interval must be > 0")
    job = args.job or job_arn_of(ctx, args.stack, args.region)
    bedrock = client(ctx, "bedrock", args.region)
    last = None
    while True:
        reply = aws_call(
            f"GetModelCustomizationJob {job}", bedrock.get_model_customization_job, jobIdentifier=job
        )
        view = describe_job(reply)
        if view != last:
            if last is not None:
                print(file=ctx.out)
            print(view, file=ctx.out)
            ctx.out.flush()
            last = view
        status = reply.get("status", "")
        if status == "Completed":
            target = f"--stack {args.stack}" if args.stack else f"--job {job}"
            print(
                f"\nnext     rft report {target}        (training curves)\n"
                f"         rft deploy-model {target}  (make the tuned model callable)",
                file=ctx.out,
            )
        if not args.watch or status in TERMINAL:
            return EXIT_FAILURE if status in ("Failed", "Stopped") else EXIT_OK
        ctx.sleep(args.interval)
