"""``rft deploy-model``: make the trained custom model callable (an on-demand deployment) and print its
ARN for ``rft eval --tuned``.
"""

from __future__ import annotations

import argparse
import json

from rft.aws import client
from rft.context import Context
from rft.errors import EXIT_OK, CliError
from rft.flags import add_model_target
from rft.models import (
    ACTIVE,
    DEFAULT_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    DEPLOY_PERMISSIONS,
    completed_model,
    deploy,
    job_of,
    target_of,
    wait_until_active,
)

HELP = "deploy the trained custom model for on-demand inference (prints the ARN for rft eval)"
DESCRIPTION = (
    "Find the completed RFT job (from <PREFIX>-training's outputs or --job-arn), its output custom model, "
    "and create an on-demand custom model deployment for it — or reuse the one that exists. Waits until the "
    "deployment is Active and prints its ARN: pass it to `rft eval --tuned`. On-demand inference bills per "
    'token (AWS: "you only pay for what you use"). '
    "Needs: " + ", ".join(DEPLOY_PERMISSIONS) + "."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("deploy-model", help=HELP, description=DESCRIPTION)
    add_model_target(parser)
    parser.add_argument("--no-wait", action="store_true", help="return once the deployment is created")
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL_S, metavar="S", help="seconds between polls (30)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S", help="give up waiting after S (3600)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.interval <= 0 or args.timeout <= 0:
        raise CliError("--interval and --timeout must be > 0")
    bedrock = client(ctx, "bedrock", args.region)
    model = completed_model(bedrock, job_of(args, ctx), target=target_of(args))
    deployment, created = deploy(bedrock, model)
    if not args.json:
        print(f"job         {model.job_name}  (Completed)", file=ctx.out)
        print(f"model       {model.model_arn}", file=ctx.out)
        verb = "created" if created else "found"
        print(f"deployment  {deployment.name}: {verb}, {deployment.status}", file=ctx.out, flush=True)
    if not args.no_wait:
        deployment = wait_until_active(
            bedrock, deployment, ctx, interval_s=args.interval, timeout_s=args.timeout, progress=not args.json
        )
    if args.json:
        reply = {
            "deployment_arn": deployment.arn,
            "deployment_name": deployment.name,
            "status": deployment.status,
            "created": created,
            "model_arn": model.model_arn,
            "job_arn": model.job_arn,
        }
        print(json.dumps(reply), file=ctx.out)
        return EXIT_OK
    print(f"\n{deployment.status}: {deployment.arn}", file=ctx.out)
    if deployment.status == ACTIVE:
        print(f"use it as the tuned model:  rft eval --tuned {deployment.arn} ...", file=ctx.out)
    return EXIT_OK
