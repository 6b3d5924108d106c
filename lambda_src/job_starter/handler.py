"""The job starter: a CDK Provider-framework ``onEvent`` handler that starts one Bedrock RFT job.

There is no ``isComplete``: training runs for hours and a custom resource may wait at most one hour, so
the resource *starts* the job and returns; EventBridge reports how it ends.

- **Create**: check the request against the service model, preflight the deployed grader (see
  :mod:`job_starter.preflight`), then CreateModelCustomizationJob with a client request token. A retried
  create that finds the job already there returns the existing job. Role-propagation errors are retried
  for about a minute.
- **Update**: the job name is a hash of the run's inputs; unchanged → nothing at all happens (same
  physical id); changed → a new job (new physical id; CloudFormation then deletes the old resource).
- **Delete**: stop the job only while ``InProgress``; terminal states, not-found and non-ARN physical ids
  succeed. The trained custom model is never deleted.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from job_starter.job_name import JobNames, job_name_for
from job_starter.job_request import build_create_request, parse_properties
from job_starter.judge_quota import judge_quota
from job_starter.preflight import run_preflight
from job_starter.request_model import check_request

logger = logging.getLogger("job_starter")
logger.setLevel(logging.INFO)

JOB_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:bedrock:(?P<region>[a-z0-9-]{1,20}):[0-9]{12}:model-customization-job/.+"
)
#: Seconds to wait between attempts when IAM has not propagated the job role yet (~60 s in total).
ROLE_RETRY_DELAYS: tuple[float, ...] = (2, 4, 6, 8, 10, 15, 15)
_ROLE_WORDS = ("role", "assume", "trust")
_ALREADY_EXISTS = ("ConflictException", "ResourceInUseException")
_STOPPABLE = "InProgress"


class JobStartError(RuntimeError):
    """Starting the job failed; the message is plain English for the CloudFormation console."""


@dataclass
class Clients:
    """The AWS clients the starter uses; tests pass Stubber-backed ones."""

    s3: Any
    lambda_: Any
    bedrock: Any
    service_quotas: Any = None  # the judge quota report (specs with a judge); None: not read


def default_clients() -> Clients:
    """Real clients for the Lambda's region, with timeouts that fit a long grader call."""
    standard = Config(retries={"mode": "standard", "max_attempts": 5})
    # A synchronous grader call may take up to the reward function's own timeout (<= 900 s); never
    # retry it on a read timeout, which would invoke the grader twice.
    invoke = Config(
        read_timeout=905, connect_timeout=10, retries={"mode": "standard", "total_max_attempts": 1}
    )
    return Clients(
        s3=boto3.client("s3", config=standard),
        lambda_=boto3.client("lambda", config=invoke),
        bedrock=boto3.client("bedrock", config=standard),
        service_quotas=boto3.client("service-quotas", config=standard),
    )


def _log(action: str, **fields: Any) -> None:
    logger.info(json.dumps({"action": action, **fields}, default=str))


def console_url(region: str) -> str:
    """The Bedrock console's *Custom models* page (its *Jobs* tab lists training jobs).

    Deep links to a single job are not documented by AWS and have changed before; this page is stable.
    """
    return f"https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/custom-models"


def _region_of(job_arn: str) -> str:
    match = JOB_ARN.fullmatch(job_arn)
    return match.group("region") if match else "us-east-1"


def _response(job_arn: str, names: JobNames) -> dict[str, Any]:
    return {
        "PhysicalResourceId": job_arn,
        "Data": {
            "JobArn": job_arn,
            "JobName": names.job_name,
            "CustomModelName": names.custom_model_name,
            "ConsoleUrl": console_url(_region_of(job_arn)),
        },
    }


def _error_code(error: Exception) -> str:
    return error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""


def _error_message(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message", ""))
    return str(error)


def is_role_propagation_error(error: Exception) -> bool:
    """True for the errors Bedrock gives while a just-created role is not yet usable."""
    if _error_code(error) not in ("ValidationException", "AccessDeniedException"):
        return False
    # Drop ARNs first: "assumed-role/..." in the caller's own ARN says nothing about the job role.
    message = re.sub(r"arn:\S+", "", _error_message(error)).lower()
    return any(word in message for word in _ROLE_WORDS)


def on_event(
    event: Mapping[str, Any],
    context: Any = None,
    *,
    clients: Clients | Callable[[], Clients] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Provider-framework onEvent entry point. ``clients``/``sleep`` are for tests."""
    request_type = event.get("RequestType")
    props = event.get("ResourceProperties") or {}
    get_clients = _lazy(clients)
    _log("event", request_type=request_type, physical_id=event.get("PhysicalResourceId"))
    if request_type == "Create":
        return create(props, get_clients(), sleep=sleep)
    if request_type == "Update":
        return update(event, get_clients, sleep=sleep)
    if request_type == "Delete":
        return delete(str(event.get("PhysicalResourceId") or ""), get_clients)
    raise ValueError(f"unknown RequestType {request_type!r}")


def _lazy(clients: Clients | Callable[[], Clients] | None) -> Callable[[], Clients]:
    """Create clients only when an API call is needed (an unchanged update makes none)."""
    made: list[Clients] = []

    def get() -> Clients:
        if not made:
            if isinstance(clients, Clients):
                made.append(clients)
            else:
                made.append((clients or default_clients)())
        return made[0]

    return get


def create(
    props: Mapping[str, Any], clients: Clients, *, sleep: Callable[[float], None] = time.sleep
) -> dict:
    """Validate, preflight the grader, start the job; returns the Provider response."""
    job = parse_properties(props)
    names = job_name_for(props)
    request = build_create_request(job, names)
    problems = check_request(request)
    if problems:
        raise JobStartError(
            "The CreateModelCustomizationJob request does not fit the Bedrock API, so no job was started:\n"
            + "\n".join(f"- {p}" for p in problems[:20])
            + "\nFix the matching context value (see docs/context-keys.md) and deploy again."
        )
    _log(
        "create.start",
        job_name=names.job_name,
        base_model=job.base_model_identifier,
        reward_function=job.reward_function_arn,
        hyperparameters=dict(job.hyperparameters),
    )
    if job.preflight_rows > 0:
        run_preflight(
            s3=clients.s3,
            lambda_client=clients.lambda_,
            training_uri=job.training_data_s3_uri,
            function_arn=job.reward_function_arn,
            rows=job.preflight_rows,
            template=job.control_template,
        )
    else:
        _log("preflight.skipped", reason="PreflightRows is 0")
    if job.judge_model_id and clients.service_quotas is not None:
        # A report beside the expected demand, never a failure: the judge paces itself to the quota.
        quota = judge_quota(
            clients.service_quotas,
            model_id=job.judge_model_id,
            reserved_concurrency=job.reward_reserved_concurrency,
            calls_per_sample=job.judge_calls_per_sample,
        )
        _log("preflight.judge_quota", report=quota.line())
    job_arn = start_job(clients.bedrock, request, sleep=sleep)
    _log("create.done", job_arn=job_arn, job_name=names.job_name)
    return _response(job_arn, names)


def start_job(
    bedrock: Any, request: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep
) -> str:
    """CreateModelCustomizationJob with role-propagation retries; an existing job of that name is reused."""
    delays = iter(ROLE_RETRY_DELAYS)
    while True:
        try:
            return bedrock.create_model_customization_job(**request)["jobArn"]
        except ClientError as error:
            code = _error_code(error)
            if code in _ALREADY_EXISTS:
                return _existing_job(bedrock, request, error)
            delay = next(delays, None) if is_role_propagation_error(error) else None
            if delay is None:
                raise JobStartError(_create_failure(request, error)) from error
            _log("create.retry", reason="role not usable yet", code=code, wait_s=delay)
            sleep(delay)


def _existing_job(bedrock: Any, request: Mapping[str, Any], conflict: Exception) -> str:
    """The ARN of the job a retried create collided with (same name = same run inputs)."""
    name = request["jobName"]
    try:
        job = bedrock.get_model_customization_job(jobIdentifier=name)
    except ClientError as error:
        raise JobStartError(
            f"CreateModelCustomizationJob reported a conflict ({_error_message(conflict)}) but no job named "
            f"{name} exists ({_error_code(error)}). The custom model name {request['customModelName']} may "
            "already be taken by an earlier run: delete or rename that custom model, or change name_prefix, "
            "and deploy again."
        ) from error
    _log("create.exists", job_arn=job["jobArn"], job_name=name, status=job.get("status"))
    return job["jobArn"]


def _create_failure(request: Mapping[str, Any], error: Exception) -> str:
    code = _error_code(error) or type(error).__name__
    hint = {
        "AccessDeniedException": "the job starter's role needs bedrock:CreateModelCustomizationJob, "
        "bedrock:TagResource and iam:PassRole on the job role; the job role must trust bedrock.amazonaws.com",
        "ValidationException": "check the base model (RFT needs amazon.nova-2-lite-v1:0:256k in us-east-1), "
        "the data and output S3 URIs, the grader ARN and the hyperparameters",
        "ServiceQuotaExceededException": "too many customization jobs are running in this account and "
        "region; wait for one to finish or ask for a quota increase",
    }.get(code, "see the job starter's logs")
    text = (
        f"CreateModelCustomizationJob failed for job {request.get('jobName')}: {code}: "
        f"{_error_message(error)[:1500]}\nWhat to do: {hint}."
    )
    return text.encode("ascii", errors="replace").decode("ascii")


def update(
    event: Mapping[str, Any],
    get_clients: Callable[[], Clients],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Same run inputs → same physical id, no API call; changed inputs → a new job (replacement)."""
    physical_id = str(event.get("PhysicalResourceId") or "")
    new_names = job_name_for(event.get("ResourceProperties") or {})
    old_names = job_name_for(event.get("OldResourceProperties") or {})
    if new_names.job_name == old_names.job_name and JOB_ARN.fullmatch(physical_id):
        _log("update.unchanged", job_name=new_names.job_name, job_arn=physical_id)
        return _response(physical_id, new_names)
    _log("update.replace", old_job_name=old_names.job_name, new_job_name=new_names.job_name)
    return create(event.get("ResourceProperties") or {}, get_clients(), sleep=sleep)


def delete(physical_id: str, get_clients: Callable[[], Clients]) -> dict[str, Any]:
    """Stop the job if it is still running; everything else is already done. Never deletes the model."""
    if not JOB_ARN.fullmatch(physical_id):
        _log("delete.skip", reason="not a model customization job ARN", physical_id=physical_id)
        return {"PhysicalResourceId": physical_id}
    bedrock = get_clients().bedrock
    status = _status(bedrock, physical_id)
    if status == _STOPPABLE:
        try:
            bedrock.stop_model_customization_job(jobIdentifier=physical_id)
            _log("delete.stopped", job_arn=physical_id)
        except ClientError as error:
            # The job may have finished between Get and Stop: that is success too.
            after = _status(bedrock, physical_id)
            if after == _STOPPABLE:
                raise JobStartError(
                    f"Could not stop training job {physical_id}: {_error_code(error)}: "
                    f"{_error_message(error)}. The job starter's role needs "
                    "bedrock:StopModelCustomizationJob; you can also stop the job in the Bedrock console."
                ) from error
            _log("delete.already_stopped", job_arn=physical_id, status=after)
    else:
        _log("delete.nothing_to_do", job_arn=physical_id, status=status)
    return {"PhysicalResourceId": physical_id}


def _status(bedrock: Any, job_arn: str) -> str | None:
    """The job's status, or None when it does not exist."""
    try:
        return bedrock.get_model_customization_job(jobIdentifier=job_arn).get("status")
    except ClientError as error:
        if _error_code(error) == "ResourceNotFoundException":
            return None
        raise
