"""``rft undeploy-model``: delete the custom model deployment ``deploy-model`` made (the model is kept)."""

from __future__ import annotations

import argparse
import json

from rft.aws import client
from rft.context import Context
from rft.errors import EXIT_OK
from rft.flags import add_model_target
from rft.models import (
    UNDEPLOY_PERMISSIONS,
    completed_model,
    deployment_name_for,
    get_deployment,
    job_of,
    target_of,
    undeploy,
)

HELP = "delete the custom model deployment that deploy-model made"
DESCRIPTION = (
    "Delete the on-demand deployment of the job's custom model (the one deploy-model names), or the "
    "deployment given with --deployment. The custom model itself is kept. Deleting what is not there is "
    "not an error. Needs: " + ", ".join(UNDEPLOY_PERMISSIONS) + "."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("undeploy-model", help=HELP, description=DESCRIPTION)
    add_model_target(parser, deployment=True)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    bedrock = client(ctx, "bedrock", args.region)
    if args.deployment:
        targets = [args.deployment]
    else:
        model = completed_model(
            bedrock, job_of(args, ctx), permissions=UNDEPLOY_PERMISSIONS, target=target_of(args)
        )
        ours = get_deployment(
            bedrock, deployment_name_for(model.model_arn, model.model_name), UNDEPLOY_PERMISSIONS
        )
        targets = [ours.arn or ours.name] if ours else []
    deleted = [t for t in targets if undeploy(bedrock, t)]
    if args.json:
        print(json.dumps({"deleted": deleted}), file=ctx.out)
    elif deleted:
        for target in deleted:
            print(f"deleted {target} (the custom model is kept)", file=ctx.out)
    else:
        print("no deployment to delete", file=ctx.out)
    return EXIT_OK
