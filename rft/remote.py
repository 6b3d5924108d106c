"""The deployed stacks: ``rft invoke`` (call the reward Lambda with events built from dataset rows) and
``rft status`` (follow the RFT job), plus the Lambda batch grader behind ``rft score --remote``.

Names come from the stacks' outputs (CloudFormation DescribeStacks on ``<prefix>-reward`` and
``<prefix>-training``) or from the command line. Every reply from the reward Lambda is checked with
``reward.contract.check_reply``, the same check the job starter's preflight applies.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rft import core
from rft.core import EXIT_FAILURE, EXIT_OK, CliError, Context

DEFAULT_REGION = "us-east-1"
TERMINAL = ("Completed", "Failed", "Stopped")
PHASES = (
    ("validation", "validationDetails"),
    ("data processing", "dataProcessingDetails"),
    ("training", "trainingDetails"),
)


# --------------------------------------------------------------------------------------------------
# Clients.


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


# --------------------------------------------------------------------------------------------------
# The reward Lambda.


def lambda_grader(lambda_client: Any, function: str) -> core.BatchGrader:
    """Grade a batch by invoking the deployed reward Lambda synchronously; returns its parsed reply."""

    def grade(batch: core.Batch) -> Any:
        payload = json.dumps(batch, ensure_ascii=False).encode("utf-8")
        if len(payload) > core.MAX_PAYLOAD_BYTES:
            raise CliError(
                f"a batch of {len(batch)} samples is {len(payload):,} bytes, over Lambda's 6 MB payload limit; "
                "use a smaller --batch",
                EXIT_FAILURE,
            )
        reply = aws_call(
            f"Invoke {function}",
            lambda_client.invoke,
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=payload,
        )
        body = reply["Payload"].read()
        try:
            parsed = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CliError(f"{function} replied with non-JSON: {body[:200]!r}", EXIT_FAILURE) from None
        if reply.get("FunctionError") and not (isinstance(parsed, dict) and "errorMessage" in parsed):
            parsed = {"errorType": reply["FunctionError"], "errorMessage": str(parsed)[:500]}
        return parsed

    return grade


# --------------------------------------------------------------------------------------------------
# rft invoke


INVOKE_HELP = "invoke the deployed reward Lambda with events built from dataset rows"
INVOKE_DESCRIPTION = (
    "Build an event from the first N dataset rows — each row's reference answer (positive control) and "
    "known-bad answers (negative controls) — send it to the deployed reward Lambda, print the reply and "
    "check it against the reward contract. Exit status 1 when the reply breaks the contract or a "
    "known-bad answer scores at or above its row's reference answer."
)


def add_invoke_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("invoke", help=INVOKE_HELP, description=INVOKE_DESCRIPTION)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--stack", metavar="PREFIX", help="name prefix of the deployed stacks (reads <PREFIX>-reward)"
    )
    target.add_argument("--function", metavar="NAME", help="reward Lambda name, ARN or qualified ARN")
    parser.add_argument("--data", required=True, help="dataset (Nova RFT JSONL)")
    parser.add_argument(
        "-n", type=int, default=5, metavar="N", help="rows to build the event from (default 5)"
    )
    parser.add_argument("--spec", help="reward spec whose control_template writes the reference answers")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    parser.add_argument("--raw", action="store_true", help="also print the raw JSON reply")
    parser.set_defaults(run=run_invoke)


def run_invoke(args: argparse.Namespace, ctx: Context) -> int:
    from reward.contract import check_reply
    from reward.controls import negative_controls, positive_control

    if args.n < 1:
        raise CliError("-n must be >= 1")
    template = core.use_spec(args.spec).control_template if args.spec else ""
    function = args.function or _reward_function(ctx, args.stack, args.region)
    rows = core.load_rows(args.data, limit=args.n, err=ctx.err)

    event: list[dict[str, Any]] = []
    for row in rows:
        answers = {"reference": positive_control(template, row.reference)}
        answers.update(negative_controls(template, row.reference))
        for group, text in answers.items():
            event.append(core.event_element(row, text, f"{row.line}:{group}"))

    grade = lambda_grader(client(ctx, "lambda", args.region), function)
    reply = grade(event)
    problems = check_reply(event, reply)
    print(
        f"invoked {function} with {len(event)} samples from {len(rows)} rows of {args.data}\n", file=ctx.out
    )
    if args.raw:
        print(json.dumps(reply, indent=2, ensure_ascii=False), file=ctx.out)
    if isinstance(reply, list):
        print(_reply_table(event, reply), file=ctx.out)
    if problems:
        print(f"\nFAIL: the reply breaks the reward contract ({len(problems)} problems):", file=ctx.out)
        for problem in problems[:20]:
            print(f"  - {problem}", file=ctx.out)
        return EXIT_FAILURE
    if not args.spec:
        print(
            f"\nOK: {len(reply)} replies follow the contract. Reference answers were sent as they are in the "
            "dataset; pass --spec to write them with the spec's control_template and check that they "
            "outscore the known-bad answers.",
            file=ctx.out,
        )
        return EXIT_OK
    inverted = _inversions(event, reply)
    if inverted:
        print("\nFAIL: known-bad answers score at or above the reference answer:", file=ctx.out)
        for line in inverted[:20]:
            print(f"  - {line}", file=ctx.out)
        return EXIT_FAILURE
    print(
        f"\nOK: {len(reply)} replies follow the contract; every reference answer outscores its known-bad answers.",
        file=ctx.out,
    )
    return EXIT_OK


def _reward_function(ctx: Context, prefix: str, region: str | None) -> str:
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


def _reply_table(event: Sequence[Mapping[str, Any]], reply: Sequence[Any]) -> str:
    lines = [f"{'sample':<26} {'reward':>7}  dimensions"]
    for sent, element in zip(event, reply):
        if not isinstance(element, Mapping):
            lines.append(f"{sent.get('id')!s:<26} {'?':>7}  (not an object)")
            continue
        metrics = element.get("metrics_list") or []
        rewards = [
            f"{m['name']}={m['value']:+.2f}"
            for m in metrics
            if isinstance(m, Mapping) and m.get("type") == "Reward"
        ]
        flags = [m["name"] for m in metrics if isinstance(m, Mapping) and ".status." in str(m.get("name"))]
        score = element.get("aggregate_reward_score")
        shown = f"{score:+.3f}" if isinstance(score, (int, float)) else repr(score)
        lines.append(
            f"{element.get('id')!s:<26} {shown:>7}  {' '.join(rewards)}{'  ' + ' '.join(flags) if flags else ''}"
        )
    return "\n".join(lines)


def _inversions(event: Sequence[Mapping[str, Any]], reply: Sequence[Mapping[str, Any]]) -> list[str]:
    by_row: dict[str, dict[str, float]] = {}
    for sent, element in zip(event, reply):
        line, _, group = str(sent["id"]).partition(":")
        by_row.setdefault(line, {})[group] = element["aggregate_reward_score"]
    found = []
    for line, groups in by_row.items():
        reference = groups.get("reference")
        for group, score in groups.items():
            if group != "reference" and reference is not None and score >= reference:
                found.append(f"line {line}: {group} scores {score:+.3f}, reference {reference:+.3f}")
    return found


# --------------------------------------------------------------------------------------------------
# rft status


STATUS_HELP = "show the RFT job's status (from the training stack's outputs or a job ARN)"
STATUS_DESCRIPTION = (
    "Show the Bedrock RFT job's status, its phases (validation, data processing, training), failure "
    "message and output model. With --watch, poll until the job completes, fails or stops. Exit status 1 "
    "when the job has failed or was stopped."
)


def add_status_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help=STATUS_HELP, description=STATUS_DESCRIPTION)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--stack", metavar="PREFIX", help="name prefix of the deployed stacks (reads <PREFIX>-training)"
    )
    target.add_argument("--job", metavar="ARN", help="the job's ARN (or name)")
    parser.add_argument("--watch", action="store_true", help="poll until the job reaches a terminal state")
    parser.add_argument(
        "--interval", type=float, default=60.0, metavar="S", help="seconds between polls (default 60)"
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")
    parser.set_defaults(run=run_status)


def run_status(args: argparse.Namespace, ctx: Context) -> int:
    if args.interval <= 0:
        raise CliError("--interval must be > 0")
    job = args.job or _job_arn(ctx, args.stack, args.region)
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


def _job_arn(ctx: Context, prefix: str, region: str | None) -> str:
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
