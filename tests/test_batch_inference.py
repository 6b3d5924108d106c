"""`rft.batch_inference`: Bedrock batch inference for `--via batch`, against Stubber clients.

Every control-plane request (S3 PutObject / ListObjectsV2 / GetObject, Bedrock CreateModelInvocationJob /
GetModelInvocationJob) is validated by botocore against the real service models, and every record body
against Bedrock Runtime's Converse input shape.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY

from rft.batch_inference import BatchTarget, parse_output_line, records_jsonl, run_batch
from rft.errors import CliError
from tests.test_cli_remote import ACCOUNT, Clients

MODEL = "us.amazon.nova-2-lite-v1:0"
TARGET = BatchTarget(
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/batch",
    input_uri="s3://data-bucket/batch-input/",
    output_uri="s3://out-bucket/batch-output/",
    model_id=MODEL,
)
JOB_ID = "a1b2c3d4e5f6"
JOB_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-invocation-job/{JOB_ID}"


def request(i: int) -> dict[str, Any]:
    """The Converse body the on-demand sampler would send (minus modelId)."""
    return {
        "system": [{"text": "You are a math tutor."}],
        "messages": [{"role": "user", "content": [{"text": f"What is {i} + {i}? End with #### n."}]}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 1.0},
        "additionalModelRequestFields": {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}},
    }


def requests(n: int = 100) -> dict[str, dict[str, Any]]:
    return {f"p{i:04d}s00": request(i) for i in range(n)}


def output_line(record_id: str, text: str | None) -> str:
    if text is None:
        return json.dumps(
            {"recordId": record_id, "modelInput": {}, "error": {"errorCode": 400, "errorMessage": "bad"}}
        )
    return json.dumps(
        {
            "recordId": record_id,
            "modelInput": {},
            "modelOutput": {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 20, "outputTokens": 7, "totalTokens": 27},
            },
        }
    )


def job_status(status: str, message: str = "") -> dict[str, Any]:
    """A GetModelInvocationJob reply in ``status``."""
    return {
        "jobArn": JOB_ARN,
        "modelId": MODEL,
        "roleArn": TARGET.role_arn,
        "status": status,
        "message": message,
        "submitTime": "2025-01-01T00:00:00Z",
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://d/x"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://o/x/"}},
    }


def streaming(text: str) -> StreamingBody:
    data = text.encode()
    return StreamingBody(io.BytesIO(data), len(data))


class Captured:
    """What PutObject actually sent (Stubber checks shapes; this keeps the body for the test to read)."""

    def __init__(self, clients: Clients) -> None:
        self.puts: list[dict[str, Any]] = []
        clients.clients["s3"].meta.events.register("provide-client-params.s3.PutObject", self._put)

    def _put(self, params: dict[str, Any], **_: Any) -> None:
        self.puts.append(dict(params))


def stub_finished_job(
    clients: Clients, outputs: list[str], *, statuses: tuple[str, ...] = ("Completed",)
) -> None:
    bedrock, s3 = clients.stubbers["bedrock"], clients.stubbers["s3"]
    for status in statuses:
        bedrock.add_response(
            "get_model_invocation_job",
            {
                "jobArn": JOB_ARN,
                "jobName": "rft-batch-x",
                "modelId": MODEL,
                "roleArn": TARGET.role_arn,
                "status": status,
                "submitTime": "2025-01-01T00:00:00Z",
                "inputDataConfig": {
                    "s3InputDataConfig": {"s3Uri": "s3://data-bucket/batch-input/x/records.jsonl"}
                },
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://out-bucket/batch-output/x/"}},
                "totalRecordCount": 100,
                "processedRecordCount": 100 if status == "Completed" else 40,
            },
            {"jobIdentifier": JOB_ARN},
        )
    prefix = f"batch-output/x/{JOB_ID}/"
    s3.add_response(
        "list_objects_v2",
        {
            "Contents": [{"Key": f"{prefix}records.jsonl.out"}, {"Key": f"{prefix}manifest.json.out"}],
            "IsTruncated": False,
        },
        {"Bucket": "out-bucket", "Prefix": prefix},
    )
    s3.add_response(
        "get_object",
        {"Body": streaming("\n".join(outputs) + "\n")},
        {"Bucket": "out-bucket", "Key": f"{prefix}records.jsonl.out"},
    )


def clients_with_stubs() -> Clients:
    clients = Clients()
    clients.stub("bedrock")
    clients.stub("s3")
    return clients


def batch(clients: Clients, reqs: dict[str, dict[str, Any]], **options: Any) -> dict:
    """``run_batch`` on the stubbed clients, without real sleeps."""
    options.setdefault("model_id", MODEL)
    return run_batch(
        reqs,
        target=TARGET,
        bedrock=clients.clients["bedrock"],
        s3=clients.clients["s3"],
        sleep=lambda s: None,
        **options,
    )


def test_a_batch_uploads_converse_records_runs_one_job_and_returns_results_by_record_id(
    tmp_path: Path,
) -> None:
    clients = clients_with_stubs()
    captured = Captured(clients)
    reqs = requests()
    clients.stubbers["s3"].add_response(
        "put_object", {}, {"Bucket": "data-bucket", "Key": ANY, "Body": ANY, "ContentType": ANY}
    )
    clients.stubbers["bedrock"].add_response(
        "create_model_invocation_job",
        {"jobArn": JOB_ARN},
        {
            "jobName": ANY,
            "roleArn": TARGET.role_arn,
            "clientRequestToken": ANY,
            "modelId": MODEL,
            "modelInvocationType": "Converse",
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": ANY, "s3InputFormat": "JSONL"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": ANY}},
            "timeoutDurationInHours": 24,
            "tags": ANY,
        },
    )
    ids = list(reqs)
    # Out of order, one error line, one record missing entirely.
    outputs = [output_line(i, f"#### {n * 2}") for n, i in reversed(list(enumerate(ids[:98])))]
    outputs.append(output_line(ids[98], None))
    stub_finished_job(clients, outputs, statuses=("InProgress", "InProgress", "Completed"))
    sleeps: list[float] = []
    progress = io.StringIO()
    results = run_batch(
        reqs,
        model_id=MODEL,
        target=TARGET,
        bedrock=clients.clients["bedrock"],
        s3=clients.clients["s3"],
        sleep=sleeps.append,
        poll_s=120,
        progress=progress,
    )
    clients.assert_done()
    assert list(results) == ids  # in request order, whatever the output order
    assert results[ids[7]].text == "#### 14" and results[ids[7]].output_tokens == 7
    assert results[ids[98]].error == "400: bad" and results[ids[98]].text is None
    assert results[ids[99]].error == "missing from the batch output"
    assert sleeps == [120, 120] and progress.getvalue().count("40/100 records") == 1  # one line per change
    [put] = captured.puts
    lines = [json.loads(line) for line in put["Body"].decode().splitlines()]
    assert [line["recordId"] for line in lines] == ids
    assert lines[3]["modelInput"] == reqs[ids[3]]  # the Converse body as given: same prompt, same settings
    assert put["Key"].startswith("batch-input/") and put["Key"].endswith("/records.jsonl")


def test_running_the_same_batch_again_reuses_the_job_and_uploads_nothing(tmp_path: Path) -> None:
    """Resumable: with a state dir the second run only waits for and reads the first run's job."""
    reqs = requests()
    first = clients_with_stubs()
    first.stubbers["s3"].add_response("put_object", {})
    first.stubbers["bedrock"].add_response("create_model_invocation_job", {"jobArn": JOB_ARN})
    first.stubbers["bedrock"].add_client_error(
        "get_model_invocation_job", "ThrottlingException", "slow down", 400
    )
    with pytest.raises(CliError, match="ThrottlingException"):  # interrupted after submitting
        batch(first, reqs, state_dir=tmp_path)
    first.assert_done()
    again = clients_with_stubs()  # no put_object, no create: a second upload or job would fail here
    stub_finished_job(again, [output_line(i, "#### 0") for i in reqs])
    results = batch(again, reqs, state_dir=tmp_path)
    again.assert_done()
    assert all(r.ok for r in results.values()) and len(results) == 100


def test_the_job_name_and_token_are_fixed_by_the_content() -> None:
    """Without a state dir, the same content gets the same clientRequestToken: Bedrock returns the same job."""
    seen = []
    for _ in range(2):
        clients = clients_with_stubs()
        clients.stubbers["s3"].add_response("put_object", {})
        clients.stubbers["bedrock"].add_response("create_model_invocation_job", {"jobArn": JOB_ARN})
        clients.clients["bedrock"].meta.events.register(
            "provide-client-params.bedrock.CreateModelInvocationJob",
            lambda params, **_: seen.append(dict(params)),
        )
        stub_finished_job(clients, [])
        batch(clients, requests())
    assert seen[0]["clientRequestToken"] == seen[1]["clientRequestToken"]
    assert seen[0]["jobName"] == seen[1]["jobName"]
    changed = requests()
    changed["p0000s00"]["inferenceConfig"]["temperature"] = 0.5
    assert records_jsonl(changed) != records_jsonl(requests())


def test_a_failed_job_is_an_error_with_its_message() -> None:
    clients = clients_with_stubs()
    clients.stubbers["s3"].add_response("put_object", {})
    clients.stubbers["bedrock"].add_response("create_model_invocation_job", {"jobArn": JOB_ARN})
    clients.stubbers["bedrock"].add_response(
        "get_model_invocation_job",
        job_status("Failed", "Access denied to s3://data-bucket"),
    )
    with pytest.raises(CliError, match="Failed: Access denied"):
        batch(clients, requests())


def test_an_invalid_converse_body_names_the_record_before_anything_is_uploaded() -> None:
    reqs = requests()
    reqs["p0042s00"]["messages"][0]["content"] = "not a list of blocks"
    clients = clients_with_stubs()  # nothing stubbed: any AWS call fails the test
    with pytest.raises(CliError, match="record p0042s00: not a valid Converse request"):
        batch(clients, reqs)


@pytest.mark.parametrize(
    ("reqs", "model", "message"),
    [
        (requests(99), MODEL, "below Bedrock's minimum of 100"),
        (requests(), "amazon.nova-pro-v1:0", "may invoke only us.amazon.nova-2-lite-v1:0"),
        ({"bad id!": request(1)}, MODEL, "record id 'bad id!'"),
        ({"r1": {**request(1), "modelId": "x"}}, MODEL, "drop modelId"),
    ],
)
def test_bad_batches_are_refused_with_a_clear_message(reqs: dict, model: str, message: str) -> None:
    clients = clients_with_stubs()
    with pytest.raises(CliError, match=message):
        batch(clients, reqs, model_id=model, min_records=1 if len(reqs) == 1 else 100)


def test_output_lines() -> None:
    assert parse_output_line("not json") is None
    assert parse_output_line(json.dumps({"modelOutput": {}})) is None
    empty = parse_output_line(
        json.dumps({"recordId": "r", "modelOutput": {"output": {"message": {"content": []}}}})
    )
    assert empty is not None and empty.error == "no text in modelOutput"


def test_the_batch_sampler_answers_every_request_by_its_key() -> None:
    """`--via batch` behind rft.sampling's Sampler protocol: recordId = request.key, one job, every request
    answered through on_response (ok with text and tokens, or failed: never cached)."""
    from rft import sampling
    from rft.batch_inference import BatchSampler
    from rft.rows import Row

    rows = [
        Row(
            i + 1,
            {
                "messages": [{"role": "user", "content": f"What is {i} + {i}?"}],
                "reference_answer": str(2 * i),
            },
        )
        for i in range(50)
    ]
    settings = sampling.InferenceSettings(max_tokens=256, temperature=1.0, reasoning_effort="none")
    reqs = sampling.build_requests(rows, MODEL, settings, 2)
    keys = [r.key for r in reqs]
    clients = clients_with_stubs()
    captured = Captured(clients)
    clients.stubbers["s3"].add_response("put_object", {})
    clients.stubbers["bedrock"].add_response("create_model_invocation_job", {"jobArn": JOB_ARN})
    stub_finished_job(
        clients,
        [output_line(k, f"answer {n}") for n, k in enumerate(keys[:-1])] + [output_line(keys[-1], None)],
    )
    got: list = []
    sampler = BatchSampler(TARGET, clients.clients["bedrock"], clients.clients["s3"], sleep=lambda s: None)
    usage = sampler.sample(reqs, got.append)
    clients.assert_done()
    assert [r.key for r in got] == keys
    assert got[3].status == "ok" and got[3].text == "answer 3" and got[3].output_tokens == 7
    assert got[-1].status == "failed" and "400" in got[-1].error
    assert usage.calls == 100 and usage.output_tokens == 7 * 99
    uploaded = [json.loads(line) for line in captured.puts[0]["Body"].decode().splitlines()]
    sent = {line["recordId"]: line["modelInput"] for line in uploaded}
    expected = reqs[5].converse_request()
    del expected["modelId"]
    assert sent[reqs[5].key] == expected  # the same Converse body the on-demand sampler sends


def test_after_a_failed_job_the_next_run_starts_a_new_attempt(tmp_path: Path) -> None:
    """A failed job is not re-read forever: the state moves to attempt 2, a new job name and token."""
    reqs = requests()
    names = []
    for status in ("Failed", "Completed"):
        clients = clients_with_stubs()
        clients.clients["bedrock"].meta.events.register(
            "provide-client-params.bedrock.CreateModelInvocationJob",
            lambda params, **_: names.append((params["jobName"], params["clientRequestToken"])),
        )
        clients.stubbers["s3"].add_response("put_object", {})
        clients.stubbers["bedrock"].add_response("create_model_invocation_job", {"jobArn": JOB_ARN})
        if status == "Failed":
            clients.stubbers["bedrock"].add_response(
                "get_model_invocation_job",
                job_status("Failed", "Internal error"),
            )
            with pytest.raises(CliError, match="Internal error; run again to start a new batch job"):
                batch(clients, reqs, state_dir=tmp_path)
        else:
            stub_finished_job(clients, [output_line(i, "x") for i in reqs])
            results = batch(clients, reqs, state_dir=tmp_path)
            assert all(r.ok for r in results.values())
        clients.assert_done()
    (first_name, first_token), (second_name, second_token) = names
    assert second_name == first_name + "-a2" and second_token != first_token


def test_the_batch_sampler_sends_other_models_to_its_fallback() -> None:
    """rft eval --via batch: the base model goes to batch, the tuned deployment (which the batch role may
    not invoke) to the on-demand sampler; nothing is submitted for a batch of zero base requests."""
    from reward.bedrock_runtime import Usage
    from rft import sampling
    from rft.batch_inference import BatchSampler
    from rft.rows import Row

    deployment = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/abcdef123456"
    rows = [Row(1, {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": "4"})]
    settings = sampling.InferenceSettings(max_tokens=64)
    tuned = sampling.build_requests(rows, deployment, settings, 3)

    class OnDemand:
        name = "on demand"

        def __init__(self) -> None:
            self.seen: list = []

        def sample(self, requests, on_response):
            self.seen += requests
            for request in requests:
                on_response(sampling.SampleResponse(request.key, text="4", output_tokens=1))
            return Usage(calls=len(requests), output_tokens=len(requests))

    fallback = OnDemand()
    clients = clients_with_stubs()  # nothing stubbed: a batch job would fail the test
    got: list = []
    sampler = BatchSampler(
        TARGET, clients.clients["bedrock"], clients.clients["s3"], sleep=lambda s: None, fallback=fallback
    )
    usage = sampler.sample(tuned, got.append)
    assert fallback.seen == tuned and [r.key for r in got] == [r.key for r in tuned]
    assert usage.calls == 3 and usage.output_tokens == 3
