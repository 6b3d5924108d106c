"""The AWS side every command shares: boto3 clients (through ``Context.client_factory`` in tests), API calls
whose errors become one-line ``CliError``s naming the permission, S3 listing, and what the deployed stacks'
outputs name (the reward function, the job).

Names come from the stacks' outputs (CloudFormation DescribeStacks on ``<prefix>-reward`` and
``<prefix>-training``) or from the command line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rft.context import Context
from rft.errors import EXIT_FAILURE, CliError

DEFAULT_REGION = "us-east-1"
TERMINAL = ("Completed", "Failed", "Stopped")
PHASES = (
    ("validation", "validationDetails"),
    ("data processing", "dataProcessingDetails"),
    ("training", "trainingDetails"),
)


def region_of(region: str | None) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def client(ctx: Context, service: str, region: str | None) -> Any:
    """A boto3 client for ``service`` (through ``ctx.client_factory`` when tests inject one)."""
    resolved = region_of(region)
    if ctx.client_factory is not None:
        return ctx.client_factory(service, resolved)
    import boto3

    from rft.aws_errors import client_config

    # The reward function may run up to 15 minutes; many batches may be in flight at once.
    read_timeout = 910.0 if service == "lambda" else 30.0
    return boto3.client(
        service, region_name=resolved, config=client_config(read_timeout_s=read_timeout, pool=64)
    )


def aws_call(what: str, call: Any, *, needs: Sequence[str] = (), **kwargs: Any) -> Any:
    """Call an AWS API; turn its errors into a ``CliError`` that says what failed and why.

    ``needs``: the permissions the command needs, named in the message when AWS denies access.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from rft.aws_errors import explain

    try:
        return call(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        meta = getattr(getattr(call, "__self__", None), "meta", None)  # the client the call belongs to
        service = meta.service_model.service_name if meta is not None else ""
        region = meta.region_name if meta is not None else ""
        message = explain(exc, operation=what, service=service, region=region, needs=tuple(needs))
        raise CliError(message or str(exc), EXIT_FAILURE) from None


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key or prefix) of ``s3://bucket/key``; a ``CliError`` for anything else."""
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri or "")
    if not match:
        raise CliError(f"not an S3 URI: {uri!r}", EXIT_FAILURE)
    return match[1], match[2]


def list_objects(
    s3: Any, bucket: str, prefix: str, *, limit: int | None = None, needs: Sequence[str] = ()
) -> list[tuple[str, int]]:
    """(key, size) of the objects under ``prefix``, every page of ListObjectsV2 (at most ``limit``)."""
    found: list[tuple[str, int]] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        reply = aws_call(f"ListObjectsV2 s3://{bucket}/{prefix}", s3.list_objects_v2, needs=needs, **kwargs)
        found += [(o["Key"], int(o.get("Size", 0))) for o in reply.get("Contents") or []]
        if not reply.get("IsTruncated"):
            break
        token = reply.get("NextContinuationToken")
    return found if limit is None else found[:limit]


def stack_outputs(ctx: Context, stack: str, region: str | None) -> dict[str, str]:
    """The outputs of a CloudFormation stack, by output key."""
    cfn = client(ctx, "cloudformation", region)
    reply = aws_call(f"DescribeStacks {stack}", cfn.describe_stacks, StackName=stack)
    stacks = reply.get("Stacks") or []
    if not stacks:
        raise CliError(f"stack {stack} not found in {region_of(region)}", EXIT_FAILURE)
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs") or []}


def reward_function_of(ctx: Context, prefix: str, region: str | None) -> str:
    stack = f"{prefix}-reward"
    outputs = stack_outputs(ctx, stack, region)
    # The published version is what the RFT job invokes; fall back to the function itself.
    for key in ("RewardFunctionVersionArn", "RewardFunctionName", "RewardFunctionArn"):
        if outputs.get(key):
            return outputs[key]
    raise CliError(
        f"stack {stack} has no RewardFunctionVersionArn/RewardFunctionName output; is it the reward stack? "
        "Pass --function NAME instead.",
        EXIT_FAILURE,
    )


def job_arn_of(ctx: Context, prefix: str, region: str | None) -> str:
    stack = f"{prefix}-training"
    outputs = stack_outputs(ctx, stack, region)
    if outputs.get("JobArn"):
        return outputs["JobArn"]
    raise CliError(
        f"stack {stack} has no JobArn output: no job was started. Deploy with `-c start_job=true` "
        "(this starts paid training), or pass --job ARN.",
        EXIT_FAILURE,
    )


def describe_job(reply: Mapping[str, Any]) -> str:
    """A readable summary of a GetModelCustomizationJob reply."""
    lines = [
        f"job      {reply.get('jobName', '?')}  ({reply.get('jobArn', '')})",
        f"status   {reply.get('status', '?')}",
    ]
    details = reply.get("statusDetails") or {}
    phases = []
    for label, key in PHASES:
        phase = details.get(key) or {}
        if phase.get("status"):
            phases.append(f"{label}: {phase['status']}")
    if phases:
        lines.append("phases   " + ", ".join(phases))
    for label, key in (("started", "creationTime"), ("updated", "lastModifiedTime"), ("ended", "endTime")):
        if isinstance(reply.get(key), datetime):
            lines.append(f"{label:<8} {reply[key].isoformat(timespec='seconds')}")
    if reply.get("failureMessage"):
        lines.append(f"failure  {reply['failureMessage']}")
    if reply.get("outputModelArn"):
        lines.append(f"model    {reply['outputModelArn']}")
    elif reply.get("outputModelName"):
        lines.append(f"model    {reply['outputModelName']} (when the job completes)")
    return "\n".join(lines)
