"""Sample thousands of prompts with Bedrock batch inference (``CreateModelInvocationJob``) instead of one
HTTP call at a time: the engine behind ``--via batch``.

    requests = {"p0007s02": {"messages": [...], "system": [...], "inferenceConfig": {...}}, ...}
    target = batch_target_from_stack(ctx, "nova-rft")                 # role, input and output S3 prefixes
    results = run_batch(requests, model_id="us.amazon.nova-2-lite-v1:0", target=target,
                        bedrock=bedrock_client, s3=s3_client, sleep=time.sleep)
    results["p0007s02"].text                                          # the response, or .error

Each request is the body of a Bedrock Runtime ``Converse`` call without ``modelId`` — exactly the keyword
arguments the on-demand sampler passes to ``client.converse`` — so the two paths send the same prompt with
the same inference settings. The job is created with ``modelInvocationType="Converse"``, for which AWS
documents (Bedrock user guide, "Format and upload your batch inference data" / "View the results") that
each input line is ``{"recordId": ..., "modelInput": <Converse request body>}`` and each output line is
``{"recordId", "modelInput", "modelOutput": <Converse response body>}`` or ``{..., "error": {"errorCode",
"errorMessage"}}``, in ``<output URI>/<job id>/<input file>.out``, with a ``manifest.json.out``. The order of
output lines is not guaranteed: results are keyed by record id.

Every request body is validated against botocore's Bedrock Runtime ``Converse`` input shape before
anything is uploaded, and every control-plane call goes through boto3 (tests use ``Stubber``, which
validates them against the Bedrock service model).

Resumable and idempotent: the input file's S3 key and the job's name and ``clientRequestToken`` are derived
from the content (model + every record), so running the same batch again reuses the job — finished or
not — instead of paying twice. With ``state_dir`` the job ARN is also kept on disk.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rft.aws import aws_call, client, list_objects, split_s3_uri, stack_outputs
from rft.context import Context
from rft.errors import EXIT_FAILURE, CliError

#: Bedrock's default quota "Minimum number of records per batch inference job" (Service Quotas; the value
#: is per model and adjustable, 100 for the Nova models at the time of writing — assumed, check yours).
MIN_RECORDS = 100
#: recordId: AWS's examples use alphanumeric ids; we allow letters, digits, "-" and "_" only.
RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Terminal states of a model invocation job (botocore ModelInvocationJobStatus).
DONE = ("Completed", "PartiallyCompleted")
FAILED = ("Failed", "Stopped", "Expired")
DEFAULT_POLL_S = 60.0
#: CreateModelInvocationJob.timeoutDurationInHours: 24..168 (botocore); the job expires after it.
DEFAULT_TIMEOUT_HOURS = 24
CALLER_PERMISSIONS = (
    "bedrock:CreateModelInvocationJob",
    "bedrock:GetModelInvocationJob",
    "iam:PassRole on the BatchInferenceRoleArn role",
    "s3:PutObject on the batch input prefix",
    "s3:ListBucket and s3:GetObject on the batch output prefix",
    "kms:GenerateDataKey and kms:Decrypt on the data key (encryption=kms)",
)

#: Stack outputs (training stack, with -c batch_inference=true).
ROLE_OUTPUT = "BatchInferenceRoleArn"
INPUT_OUTPUT = "BatchInputS3Uri"
OUTPUT_OUTPUT = "BatchOutputS3Uri"
KEY_OUTPUT = "BatchKmsKeyArn"
MODEL_OUTPUT = "BatchModelId"


class BatchJobFailed(CliError):
    """The batch job ended Failed, Stopped or Expired (not a lost poll: rerunning starts a new job)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_FAILURE)


@dataclass(frozen=True)
class BatchTarget:
    """Where a batch job reads and writes, and the role it runs as (the training stack's outputs)."""

    role_arn: str
    input_uri: str  # s3://bucket/prefix/  (the role may read only here)
    output_uri: str  # s3://bucket/prefix/ (the role may write only here)
    kms_key_arn: str | None = None
    #: The model the role may invoke (the base model's inference profile); other models are denied.
    model_id: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """One record's outcome: the response text and token usage, or the error Bedrock reported."""

    record_id: str
    text: str | None
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None
    tool_uses: tuple[Mapping[str, Any], ...] = ()  # the reply's Converse toolUse blocks

    @property
    def ok(self) -> bool:
        return self.error is None


def batch_target_from_stack(ctx: Context, prefix: str, region: str | None = None) -> BatchTarget:
    """The batch role and S3 prefixes from ``<prefix>-training``'s outputs."""
    stack = f"{prefix}-training"
    outputs = stack_outputs(ctx, stack, region)
    if not outputs.get(ROLE_OUTPUT):
        raise CliError(
            f"stack {stack} has no {ROLE_OUTPUT} output: the batch inference role is not deployed. Deploy "
            'with make deploy ARGS="-c batch_inference=true" (adds the role, no cost by itself).',
            EXIT_FAILURE,
        )
    return BatchTarget(
        role_arn=outputs[ROLE_OUTPUT],
        input_uri=outputs[INPUT_OUTPUT],
        output_uri=outputs[OUTPUT_OUTPUT],
        kms_key_arn=outputs.get(KEY_OUTPUT) or None,
        model_id=outputs.get(MODEL_OUTPUT) or None,
    )


# --------------------------------------------------------------------------------------------------
# Records.


def _converse_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("Converse").input_shape


def check_request(record_id: str, body: Mapping[str, Any], shape: Any | None = None) -> None:
    """A ``CliError`` naming the record when ``body`` is not a valid Converse request (botocore's model)."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    if "modelId" in body:
        raise CliError(
            f"record {record_id}: the model is set on the batch job, not in the record (drop modelId)"
        )
    try:
        # modelId is required by the shape; any valid id stands in for the job's model here.
        validate_parameters({"modelId": "placeholder", **body}, shape or _converse_shape())
    except ParamValidationError as exc:
        raise CliError(f"record {record_id}: not a valid Converse request: {exc}") from None


def records_jsonl(requests: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The batch input file: one ``{"recordId", "modelInput"}`` line per request, validated."""
    if not requests:
        raise CliError("nothing to sample: no records")
    shape = _converse_shape()
    lines = []
    for record_id, body in requests.items():
        if not RECORD_ID.fullmatch(record_id):
            raise CliError(f"record id {record_id!r}: use 1..64 letters, digits, '-' or '_'")
        check_request(record_id, body, shape)
        lines.append(
            json.dumps({"recordId": record_id, "modelInput": body}, ensure_ascii=False, sort_keys=True)
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_output_line(line: str) -> BatchResult | None:
    """One output line → ``BatchResult``; None for a line without a record id (not ours)."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(item, Mapping) or not item.get("recordId"):
        return None
    record_id = str(item["recordId"])
    error = item.get("error")
    if error:
        detail = (
            error
            if isinstance(error, str)
            else f"{error.get('errorCode', '?')}: {error.get('errorMessage', '')}"
        )
        return BatchResult(record_id, None, error=str(detail))
    output = item.get("modelOutput") or {}
    message = (output.get("output") or {}).get("message") or {}
    texts = [
        block["text"]
        for block in message.get("content") or []
        if isinstance(block, Mapping) and "text" in block
    ]
    usage = output.get("usage") or {}
    from rft.sampling import tool_use_blocks

    uses = tool_use_blocks(message.get("content"))
    if not texts and not uses:
        return BatchResult(record_id, None, output.get("stopReason"), error="no text in modelOutput")
    return BatchResult(
        record_id,
        "".join(texts),
        output.get("stopReason"),
        int(usage.get("inputTokens") or 0),
        int(usage.get("outputTokens") or 0),
        tool_uses=uses,
    )


# --------------------------------------------------------------------------------------------------
# The job.


def _content_hash(model_id: str, body: bytes) -> str:
    return hashlib.sha256(model_id.encode() + b"\n" + body).hexdigest()


def _join(uri: str, *parts: str) -> str:
    return uri.rstrip("/") + "/" + "/".join(p.strip("/") for p in parts)


def _aws(what: str, call: Any, **kwargs: Any) -> Any:
    return aws_call(what, call, needs=CALLER_PERMISSIONS, **kwargs)


def submit(
    requests: Mapping[str, Mapping[str, Any]],
    *,
    model_id: str,
    target: BatchTarget,
    bedrock: Any,
    s3: Any,
    min_records: int = MIN_RECORDS,
    timeout_hours: int = DEFAULT_TIMEOUT_HOURS,
    state_dir: Path | None = None,
) -> str:
    """Upload the records and start (or find) the batch job; returns the job ARN."""
    if target.model_id and model_id != target.model_id:
        raise CliError(
            f"the batch role may invoke only {target.model_id} (the base model's inference profile), not "
            f"{model_id}; sample that model on demand instead",
        )
    if len(requests) < min_records:
        raise CliError(
            f"{len(requests)} records is below Bedrock's minimum of {min_records} per batch inference job "
            "(Service Quotas: 'Minimum number of records per batch inference job'); sample on demand instead, "
            "or add prompts/samples",
        )
    body = records_jsonl(requests)
    digest = _content_hash(model_id, body)
    state = _state_file(state_dir, digest)
    remembered = _read_state(state)
    if remembered.get("jobArn"):
        return remembered["jobArn"]
    # After a failed job the same content gets a new attempt number: a new job name and token.
    attempt = int(remembered.get("attempt", 1))
    suffix = "" if attempt == 1 else f"-a{attempt}"
    input_uri = _join(target.input_uri, digest[:16], "records.jsonl")
    bucket, key = split_s3_uri(input_uri)
    put: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body, "ContentType": "application/jsonl"}
    if target.kms_key_arn:
        put.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=target.kms_key_arn)
    _aws(f"PutObject {input_uri}", s3.put_object, **put)
    output: dict[str, Any] = {"s3Uri": _join(target.output_uri, digest[:16]) + "/"}
    if target.kms_key_arn:
        output["s3EncryptionKeyId"] = target.kms_key_arn
    reply = _aws(
        "CreateModelInvocationJob",
        bedrock.create_model_invocation_job,
        jobName=f"rft-batch-{digest[:24]}{suffix}",
        roleArn=target.role_arn,
        clientRequestToken=f"{digest[:60]}{suffix}",
        modelId=model_id,
        modelInvocationType="Converse",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": output},
        timeoutDurationInHours=timeout_hours,
        tags=[{"key": "project", "value": "nova-rft-kit"}],
    )
    job_arn = reply["jobArn"]
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(
            json.dumps({"jobArn": job_arn, "attempt": attempt, "model": model_id, "records": len(requests)})
        )
    return job_arn


def _state_file(state_dir: Path | None, digest: str) -> Path | None:
    return state_dir / f"batch-{digest[:16]}.json" if state_dir else None


def _read_state(state: Path | None) -> dict[str, Any]:
    if state is None or not state.is_file():
        return {}
    try:
        remembered = json.loads(state.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # a torn or foreign file: start over (the content-derived token still dedupes)
    return remembered if isinstance(remembered, dict) else {}


def _forget_failed_job(
    state_dir: Path | None, model_id: str, requests: Mapping[str, Any], job_arn: str
) -> None:
    """After a failed job, let the next run start a new one (next attempt number) instead of re-reading it."""
    state = _state_file(state_dir, _content_hash(model_id, records_jsonl(requests)))
    remembered = _read_state(state)
    if state is not None and remembered.get("jobArn") == job_arn:
        state.write_text(json.dumps({"attempt": int(remembered.get("attempt", 1)) + 1, "failed": job_arn}))


def wait(
    bedrock: Any,
    job_arn: str,
    *,
    sleep: Callable[[float], None],
    poll_s: float = DEFAULT_POLL_S,
    max_polls: int | None = None,
    progress: IO[str] | None = None,
) -> Mapping[str, Any]:
    """Poll ``GetModelInvocationJob`` until the job ends; its last reply. A ``CliError`` when it failed.

    ``max_polls`` (default: the job's own timeout, 24 h, in polls) bounds the wait by counting polls, not
    by reading a clock.
    """
    limit = max_polls if max_polls is not None else math.ceil(DEFAULT_TIMEOUT_HOURS * 3600 / poll_s)
    last = ""
    for poll in range(limit + 1):
        reply = _aws(
            f"GetModelInvocationJob {job_arn}", bedrock.get_model_invocation_job, jobIdentifier=job_arn
        )
        status = reply.get("status", "?")
        if status in DONE:
            return reply
        if status in FAILED:
            raise BatchJobFailed(f"batch job {job_arn} is {status}: {reply.get('message') or 'no message'}")
        line = f"batch job {reply.get('jobName', job_arn)}: {status}"
        if reply.get("totalRecordCount"):
            line += f", {reply.get('processedRecordCount', 0)}/{reply['totalRecordCount']} records"
        if progress is not None and line != last:
            print(line, file=progress, flush=True)
            last = line
        if poll < limit:
            sleep(poll_s)
    raise CliError(
        f"batch job {job_arn} has not finished after {limit} polls; run again to keep waiting (the job is reused)",
        EXIT_FAILURE,
    )


def read_results(s3: Any, job: Mapping[str, Any], record_ids: list[str]) -> dict[str, BatchResult]:
    """Results keyed by record id from the job's ``*.out`` files; a record with no output line gets an
    error result (so a caller never mistakes a lost record for an answer)."""
    output_uri = job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
    job_id = job["jobArn"].rsplit("/", 1)[-1]
    bucket, prefix = split_s3_uri(_join(output_uri, job_id) + "/")
    results: dict[str, BatchResult] = {}
    for key, _ in list_objects(s3, bucket, prefix, needs=CALLER_PERMISSIONS):
        if not key.endswith(".out") or key.endswith("manifest.json.out"):
            continue
        data = _aws(f"GetObject s3://{bucket}/{key}", s3.get_object, Bucket=bucket, Key=key)["Body"].read()
        for line in data.decode("utf-8").splitlines():
            result = parse_output_line(line) if line.strip() else None
            if result is not None:
                results[result.record_id] = result
    for record_id in record_ids:
        results.setdefault(record_id, BatchResult(record_id, None, error="missing from the batch output"))
    return {record_id: results[record_id] for record_id in record_ids}


def run_batch(
    requests: Mapping[str, Mapping[str, Any]],
    *,
    model_id: str,
    target: BatchTarget,
    bedrock: Any,
    s3: Any,
    sleep: Callable[[float], None],
    poll_s: float = DEFAULT_POLL_S,
    max_polls: int | None = None,
    min_records: int = MIN_RECORDS,
    state_dir: Path | None = None,
    progress: IO[str] | None = None,
) -> dict[str, BatchResult]:
    """Sample every request with one batch job and return the results keyed by record id.

    ``requests`` maps a record id (letters, digits, ``-``, ``_``) to a Converse request body without
    ``modelId`` (``messages``, ``system``, ``inferenceConfig``, ``additionalModelRequestFields``).
    """
    job_arn = submit(
        requests,
        model_id=model_id,
        target=target,
        bedrock=bedrock,
        s3=s3,
        min_records=min_records,
        state_dir=state_dir,
    )
    try:
        job = wait(bedrock, job_arn, sleep=sleep, poll_s=poll_s, max_polls=max_polls, progress=progress)
    except BatchJobFailed as exc:
        _forget_failed_job(state_dir, model_id, requests, job_arn)
        if state_dir is not None:
            raise BatchJobFailed(f"{exc}; run again to start a new batch job") from None
        raise
    return read_results(s3, job, list(requests))


# --------------------------------------------------------------------------------------------------
# The sampler backend behind `--via batch` (rft.sampling's `Sampler` protocol).


@dataclass
class BatchSampler:
    """``rft.sampling.Sampler`` over Bedrock batch inference: one job per model for every request the
    cache does not already hold, ``recordId = request.key``, results reported through ``on_response``.

    A record Bedrock could not answer is reported ``failed`` (never cached, so a rerun retries it); a
    failure every record shares (access denied, a failed job) raises a ``CliError``.

    The batch role may invoke only ``target.model_id`` (the base model's profile). Requests for any other
    model (the tuned model's deployment in ``rft eval``) go to ``fallback`` (the on-demand sampler) when
    one is given, else they are refused.
    """

    target: BatchTarget
    bedrock: Any
    s3: Any
    sleep: Callable[[float], None]
    poll_s: float = DEFAULT_POLL_S
    max_polls: int | None = None
    min_records: int = MIN_RECORDS
    state_dir: Path | None = None
    progress: IO[str] | None = None
    fallback: Any = None  # an rft.sampling.Sampler for the models the batch role may not invoke
    name: str = "bedrock batch inference"

    def sample(self, requests: Any, on_response: Callable[[Any], None]) -> Any:
        from reward.bedrock_runtime import Usage
        from rft.sampling import SampleResponse

        usage = Usage()
        by_model: dict[str, dict[str, dict[str, Any]]] = {}
        elsewhere = []
        for request in requests:
            if (
                self.fallback is not None
                and self.target.model_id
                and request.model_id != self.target.model_id
            ):
                elsewhere.append(request)
                continue
            body = dict(request.converse_request())
            by_model.setdefault(body.pop("modelId"), {})[request.key] = body
        if elsewhere:
            spent = self.fallback.sample(elsewhere, on_response)
            for name in ("calls", "throttles", "retries", "input_tokens", "output_tokens"):
                setattr(usage, name, getattr(usage, name) + getattr(spent, name, 0))
        for model_id, bodies in by_model.items():
            results = run_batch(
                bodies,
                model_id=model_id,
                target=self.target,
                bedrock=self.bedrock,
                s3=self.s3,
                sleep=self.sleep,
                poll_s=self.poll_s,
                max_polls=self.max_polls,
                min_records=self.min_records,
                state_dir=self.state_dir,
                progress=self.progress,
            )
            for key, result in results.items():
                usage.calls += 1
                usage.input_tokens += result.input_tokens
                usage.output_tokens += result.output_tokens
                if result.ok:
                    response = SampleResponse(
                        key,
                        text=result.text or "",
                        stop_reason=result.stop_reason or "",
                        input_tokens=result.input_tokens,
                        output_tokens=result.output_tokens,
                        tool_uses=result.tool_uses,
                    )
                else:
                    response = SampleResponse(key, status="failed", error=result.error or "no output")
                on_response(response)
        return usage


def batch_sampler_from_stack(
    ctx: Context,
    prefix: str,
    region: str | None = None,
    *,
    state_dir: Path | None = None,
    fallback: Any = None,
) -> BatchSampler:
    """The ``--via batch`` sampler for the stacks named ``prefix`` (role and prefixes from their outputs);
    ``fallback`` samples the models the batch role may not invoke (on demand)."""
    return BatchSampler(
        target=batch_target_from_stack(ctx, prefix, region),
        bedrock=client(ctx, "bedrock", region),
        s3=client(ctx, "s3", region),
        sleep=ctx.sleep,
        state_dir=state_dir,
        progress=ctx.err,
        fallback=fallback,
    )
