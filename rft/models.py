"""Make the trained model callable: ``rft deploy-model`` and ``rft undeploy-model``.

A completed RFT job leaves a custom model (``GetModelCustomizationJob`` → ``outputModelArn``). Bedrock
serves a custom Nova model on demand through a *custom model deployment*
(``CreateCustomModelDeployment``); the deployment's ARN is then the ``modelId`` for Bedrock Runtime
``Converse`` (docs/contract.md §6, AWS Bedrock user guide "Deploy a custom model for on-demand inference").

Idempotent by construction: the deployment's name is derived from the custom model's ARN
(``deployment_name_for``), so a second ``deploy-model`` finds it (``GetCustomModelDeployment`` accepts the
name) and reuses it; a deployment of the same model created elsewhere (console, another name) that is
``Active`` or ``Creating`` is reused too (``ListCustomModelDeployments`` filtered by model ARN). The create
call carries a ``clientRequestToken`` derived from the same inputs, so a retried request after a lost
reply cannot make a second deployment.

``tuned_model_from_stack(ctx, prefix)`` is the one way other commands (``rft eval --stack``) turn a
deployed training stack into the tuned model's id.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rft.aws import aws_call, client, job_arn_of
from rft.context import Context
from rft.errors import EXIT_FAILURE, CliError

#: What the caller's identity needs for these commands (named in every access-denied error).
DEPLOY_PERMISSIONS = (
    "bedrock:GetModelCustomizationJob",
    "bedrock:CreateCustomModelDeployment",
    "bedrock:GetCustomModelDeployment",
    "bedrock:ListCustomModelDeployments",
    "bedrock:TagResource (the deployment is tagged)",
    "cloudformation:DescribeStacks (with --stack)",
)
UNDEPLOY_PERMISSIONS = (
    "bedrock:GetModelCustomizationJob",
    "bedrock:ListCustomModelDeployments",
    "bedrock:GetCustomModelDeployment",
    "bedrock:DeleteCustomModelDeployment",
    "cloudformation:DescribeStacks (with --stack)",
)

#: botocore's ModelDeploymentName: 1..63 characters, ``([0-9a-zA-Z][_-]?){1,63}``.
_NAME_MAX = 63
_NAME_PATTERN = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")
#: Deployment states (botocore CustomModelDeploymentStatus).
ACTIVE, CREATING, FAILED = "Active", "Creating", "Failed"

DEFAULT_INTERVAL_S = 30.0
DEFAULT_TIMEOUT_S = 3600.0
PROJECT_TAG = "nova-rft-kit"


@dataclass(frozen=True)
class Deployment:
    """One custom model deployment, as this tool reports it."""

    arn: str
    name: str
    status: str
    model_arn: str
    failure: str = ""


@dataclass(frozen=True)
class TunedModel:
    """The completed job and its output custom model."""

    job_arn: str
    job_name: str
    model_arn: str
    model_name: str


# --------------------------------------------------------------------------------------------------
# Names and tokens.


def deployment_name_for(model_arn: str, model_name: str = "") -> str:
    """The deterministic deployment name of a custom model: readable stem + hash of the model ARN.

    Always matches botocore's ModelDeploymentName (``([0-9a-zA-Z][_-]?){1,63}``); the same model always
    gets the same name, two models never share one (the 10-hex-digit hash of the ARN).
    """
    digest = hashlib.sha256(model_arn.encode()).hexdigest()[:10]
    stem = re.sub(r"[^0-9a-zA-Z]+", "-", model_name or model_arn.rsplit("/", 1)[-1]).strip("-")
    stem = stem[: _NAME_MAX - len(digest) - 4].strip("-")  # room for "-od-" + digest
    name = f"{stem}-od-{digest}" if stem else f"od-{digest}"
    assert _NAME_PATTERN.fullmatch(name), name  # a bug here would make every deploy fail
    return name


def _token(*parts: str) -> str:
    """A clientRequestToken (``[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?``) fixed by ``parts``."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:64]


# --------------------------------------------------------------------------------------------------
# AWS calls with a permission hint.


def _raise_aws(what: str, exc: BaseException, permissions: tuple[str, ...]) -> None:
    """Raise the ``CliError`` that ``aws_call`` makes of ``exc`` (with the permissions hint)."""
    aws_call(what, _reraise, needs=permissions, exc=exc)


def _reraise(exc: BaseException) -> None:
    raise exc


def _client_error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


# --------------------------------------------------------------------------------------------------
# The completed job and its model.


def completed_model(
    bedrock: Any, job: str, *, permissions: tuple[str, ...] = DEPLOY_PERMISSIONS, target: str = ""
) -> TunedModel:
    """The output custom model of ``job`` (name or ARN); a ``CliError`` when the job has not completed.

    ``target``: how the user named the job (``--stack p``), for the ``rft status`` hint.
    """
    reply = aws_call(
        f"GetModelCustomizationJob {job}",
        bedrock.get_model_customization_job,
        needs=permissions,
        jobIdentifier=job,
    )
    status = reply.get("status", "?")
    name = reply.get("jobName", job)
    if status != "Completed":
        if status in ("InProgress", "Stopping"):
            hint = (
                f"wait for it to complete (`rft status {target or '--job ' + job} --watch` polls until it "
                "ends), then run this again"
            )
        else:
            failure = reply.get("failureMessage")
            hint = f"it produced no model{': ' + failure if failure else ''}. Fix the cause and train again"
        raise CliError(f"job {name} is {status}, not Completed: {hint}", EXIT_FAILURE)
    model_arn = reply.get("outputModelArn")
    if not model_arn:
        raise CliError(
            f"job {name} is Completed but GetModelCustomizationJob returned no outputModelArn; "
            "look for the model under Custom models in the Bedrock console",
            EXIT_FAILURE,
        )
    return TunedModel(
        job_arn=reply.get("jobArn", job),
        job_name=name,
        model_arn=model_arn,
        model_name=reply.get("outputModelName") or model_arn.rsplit("/", 1)[-1],
    )


def _deployment(reply: Mapping[str, Any]) -> Deployment:
    return Deployment(
        arn=reply.get("customModelDeploymentArn", ""),
        name=reply.get("modelDeploymentName") or reply.get("customModelDeploymentName", ""),
        status=reply.get("status", "?"),
        model_arn=reply.get("modelArn", ""),
        failure=reply.get("failureMessage") or "",
    )


def get_deployment(bedrock: Any, identifier: str, permissions: tuple[str, ...]) -> Deployment | None:
    """The deployment named or ARN'd ``identifier``, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        reply = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=identifier)
    except ClientError as exc:
        if _client_error_code(exc) == "ResourceNotFoundException":
            return None
        _raise_aws(f"GetCustomModelDeployment {identifier}", exc, permissions)
    return _deployment(reply)


def deployments_of(bedrock: Any, model_arn: str, permissions: tuple[str, ...]) -> Iterator[Deployment]:
    """Every deployment of ``model_arn`` (ListCustomModelDeployments, all pages)."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"modelArnEquals": model_arn, "maxResults": 100}
        if token:
            kwargs["nextToken"] = token
        reply = aws_call(
            f"ListCustomModelDeployments for {model_arn}",
            bedrock.list_custom_model_deployments,
            needs=permissions,
            **kwargs,
        )
        for summary in reply.get("modelDeploymentSummaries") or []:
            yield _deployment(summary)
        token = reply.get("nextToken")
        if not token:
            return


def find_deployment(bedrock: Any, model: TunedModel, permissions: tuple[str, ...]) -> Deployment | None:
    """Our deployment of the model (by its deterministic name), else any Active/Creating one of it."""
    ours = get_deployment(bedrock, deployment_name_for(model.model_arn, model.model_name), permissions)
    if ours is not None:
        return ours
    usable = [
        d for d in deployments_of(bedrock, model.model_arn, permissions) if d.status in (ACTIVE, CREATING)
    ]
    usable.sort(key=lambda d: d.status != ACTIVE)  # an Active one first
    return usable[0] if usable else None


# --------------------------------------------------------------------------------------------------
# Deploy, wait, undeploy.


def deploy(bedrock: Any, model: TunedModel) -> tuple[Deployment, bool]:
    """Create the deployment of ``model`` unless one exists; returns (deployment, created)."""
    from botocore.exceptions import ClientError

    existing = find_deployment(bedrock, model, DEPLOY_PERMISSIONS)
    name = deployment_name_for(model.model_arn, model.model_name)
    if existing is not None:
        if existing.status == FAILED:
            raise CliError(
                f"deployment {existing.name} of {model.model_arn} is Failed"
                f"{': ' + existing.failure if existing.failure else ''}. Delete it with "
                f"`rft undeploy-model --deployment {existing.arn or existing.name}` and run deploy-model again",
                EXIT_FAILURE,
            )
        return existing, False
    request = {
        "modelDeploymentName": name,
        "modelArn": model.model_arn,
        "description": f"On-demand deployment of {model.model_name} (RFT job {model.job_name}), by rft deploy-model",
        "tags": [
            {"key": "project", "value": PROJECT_TAG},
            {"key": "nova-rft:job", "value": model.job_name[:256]},
        ],
        "clientRequestToken": _token("deploy", model.model_arn, name),
    }
    try:
        reply = bedrock.create_custom_model_deployment(**request)
    except ClientError as exc:
        if _client_error_code(exc) in ("ConflictException", "ResourceInUseException"):
            # Another deploy-model got there first (or a lost reply): the deployment exists now.
            found = find_deployment(bedrock, model, DEPLOY_PERMISSIONS)
            if found is not None:
                return found, False
        _raise_aws("CreateCustomModelDeployment", exc, DEPLOY_PERMISSIONS)
        raise  # unreachable: _raise_aws raised
    arn = reply["customModelDeploymentArn"]
    return Deployment(arn=arn, name=name, status=CREATING, model_arn=model.model_arn), True


def wait_until_active(
    bedrock: Any,
    deployment: Deployment,
    ctx: Context,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
) -> Deployment:
    """Poll ``GetCustomModelDeployment`` until Active; a ``CliError`` when it fails or ``timeout_s`` passes.

    Time is counted in polls (``timeout_s / interval_s``) with ``ctx.sleep`` between them, so tests run
    the whole wait without a clock.
    """
    polls = max(1, math.ceil(timeout_s / interval_s))
    current = deployment
    for poll in range(polls + 1):
        if current.status == ACTIVE:
            return current
        if current.status == FAILED:
            raise CliError(
                f"deployment {current.name} failed{': ' + current.failure if current.failure else ''}. "
                f"Delete it with `rft undeploy-model --deployment {current.arn}` and try again",
                EXIT_FAILURE,
            )
        if poll == polls:
            break
        if progress:
            waited = poll * interval_s
            print(
                f"  {current.name}: {current.status}, checking again in {interval_s:g} s "
                f"({waited / 60:.1f} of at most {timeout_s / 60:.0f} min waited)",
                file=ctx.err,
                flush=True,
            )
        ctx.sleep(interval_s)
        found = get_deployment(bedrock, current.arn, DEPLOY_PERMISSIONS)
        if found is None:
            raise CliError(f"deployment {current.arn} disappeared while waiting (deleted?)", EXIT_FAILURE)
        current = found
    raise CliError(
        f"deployment {current.name} is still {current.status} after {timeout_s / 60:.0f} min; run "
        "deploy-model again to keep waiting (it reuses the deployment)",
        EXIT_FAILURE,
    )


def undeploy(bedrock: Any, identifier: str) -> bool:
    """Delete the deployment ``identifier`` (name or ARN); False when there was none."""
    from botocore.exceptions import ClientError

    try:
        bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=identifier)
    except ClientError as exc:
        if _client_error_code(exc) == "ResourceNotFoundException":
            return False
        _raise_aws(f"DeleteCustomModelDeployment {identifier}", exc, UNDEPLOY_PERMISSIONS)
    return True


def tuned_model_from_stack(ctx: Context, prefix: str, region: str | None = None) -> str:
    """The tuned model's id for Bedrock Runtime: the ARN of the Active deployment of the model that the
    job of stack ``<prefix>-training`` produced.

    Raises ``CliError`` (exit 1) when the stack has no job, the job has not completed, or the model has no
    Active deployment yet (the message says to run ``rft deploy-model --stack <prefix>``).
    """
    bedrock = client(ctx, "bedrock", region)
    model = completed_model(bedrock, job_arn_of(ctx, prefix, region), target=f"--stack {prefix}")
    found = find_deployment(bedrock, model, DEPLOY_PERMISSIONS)
    if found is None or found.status != ACTIVE:
        state = f"its deployment {found.name} is {found.status}" if found else "it has no deployment"
        raise CliError(
            f"the tuned model {model.model_arn} cannot be called yet: {state}. "
            f"Run `rft deploy-model --stack {prefix}` (it waits until the deployment is Active)",
            EXIT_FAILURE,
        )
    return found.arn


# --------------------------------------------------------------------------------------------------
# What deploy-model and undeploy-model share: the job their flags name (rft.flags.add_model_target).


def job_of(args: argparse.Namespace, ctx: Context) -> str:
    """The RFT job ``--job-arn`` names, or the one in ``--stack``'s training stack outputs."""
    return args.job_arn or job_arn_of(ctx, args.stack, args.region)


def target_of(args: argparse.Namespace) -> str:
    """How to name the same job again in a message (``--stack P`` or ``--job ARN``)."""
    return f"--stack {args.stack}" if args.stack else f"--job {args.job_arn}"
