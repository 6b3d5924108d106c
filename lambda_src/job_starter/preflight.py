"""Smoke-test the deployed reward function before any money is spent on training.

Read the first few rows of the training data from S3, answer each row with its reference answer (the
positive control) and with known-bad answers (empty, ``:``, a wrong number, a hedged answer, ...), send
them to the *published version* of the reward Lambda exactly as Bedrock would (docs/contract.md §1), and
require that (a) the reply keeps the contract and (b) for every row the reference answer scores strictly
above every known-bad answer. Anything else raises :class:`PreflightError`, whose message is written for
the CloudFormation console: what was sent, what came back, what is wrong and what to do.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from reward.contract import LAMBDA_PAYLOAD_BYTES, check_reply
from reward.controls import negative_controls, positive_control
from reward.dataset import iter_rows_from_lines

logger = logging.getLogger("job_starter")

POSITIVE = "reference"
#: CloudFormation rejects a custom-resource response over 4 KB; the Provider framework adds the log
#: group name and a JavaScript stack trace to our message, and the envelope adds ids. Stay well below.
MAX_MESSAGE_CHARS = 2400
#: How far into the file to look for rows with a reference answer before giving up.
MAX_SCAN_LINES = 500
MAX_SCAN_BYTES = 16 * 1024 * 1024
#: What one preflight invocation may send (Lambda's limit, less a margin for the JSON framing).
MAX_PAYLOAD_BYTES = LAMBDA_PAYLOAD_BYTES - 64 * 1024
_CHUNK_BYTES = 64 * 1024
_TODO = (
    "What to do: run `rft score` locally with the same reward spec and dataset to see every score and "
    "reason; check the reward spec (graders, params, control_template) against how your dataset writes "
    "reference answers; then deploy again. No training job was started."
)


class PreflightError(Exception):
    """The deployed grader failed its smoke test; the message is plain English for the console."""


@dataclass(frozen=True)
class DatasetRow:
    """One usable training row: its 1-based line number and parsed object."""

    line: int
    data: Mapping[str, Any]

    @property
    def reference(self) -> Any:
        return self.data.get("reference_answer")


@dataclass(frozen=True)
class PreflightReport:
    """What a passing preflight checked (counts only: no dataset content)."""

    rows: int
    answers: int
    controls: tuple[str, ...]
    worst_margin: float | None  # smallest (reference score - best bad score) over rows; None: no bad answers


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; ValueError naming the URI otherwise."""
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc or not key:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI of a training data file")
    return parsed.netloc, key


def _has_reference(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (str, list, dict)):
        return bool(value.strip() if isinstance(value, str) else value)
    return True


def _iter_lines(body: Any) -> Iterator[bytes]:
    """Stream lines so a 20,000-row file is never read whole; stop after MAX_SCAN_BYTES."""
    pending = b""
    read = 0
    for chunk in body.iter_chunks(_CHUNK_BYTES):
        read += len(chunk)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from lines
        if read >= MAX_SCAN_BYTES:
            return
    if pending:
        yield pending


def read_rows(s3: Any, uri: str, count: int) -> tuple[list[DatasetRow], int]:
    """The first ``count`` rows of ``uri`` that have messages and a reference answer.

    Returns the rows and how many lines were scanned. Raises :class:`PreflightError` when the object
    cannot be read.
    """
    bucket, key = parse_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        raise PreflightError(
            f"Preflight could not read the training data {uri}: {_client_error_text(error)}. "
            "The job starter's role needs s3:GetObject on that object (and kms:Decrypt when the bucket "
            "uses a customer KMS key). No training job was started."
        ) from error
    body = response["Body"]
    rows: list[DatasetRow] = []
    scanned = 0
    try:
        # The one dataset reader: rows with a validation error are skipped exactly as synth judged them.
        for scanned, data in iter_rows_from_lines(_iter_lines(body)):
            if len(rows) >= count or scanned > MAX_SCAN_LINES:
                break
            if _has_reference(data.get("reference_answer")):
                rows.append(DatasetRow(line=scanned, data=data))
    finally:
        body.close()  # drop the rest of the object: we only wanted the first rows
    return rows, scanned


def _client_error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'Error')}: {info.get('Message', '')}".strip().rstrip(":")
    return str(error)


def build_event(
    rows: Sequence[DatasetRow], template: str
) -> tuple[list[dict[str, Any]], dict[int, list[tuple[str, str]]]]:
    """The RFT event for ``rows``: each answered with the positive control and every negative control.

    Returns the event and, per row line, ``(element id, control name)`` pairs: positive first.
    Element ids are ``preflight-<line>-<control>`` so a reply is easy to read in the logs.
    """
    event: list[dict[str, Any]] = []
    ids_by_line: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        reference = row.reference
        metadata = {k: v for k, v in row.data.items() if k not in ("messages", "reference_answer")}
        metadata["reference_answer"] = reference
        answers = {POSITIVE: positive_control(template, reference)}
        answers.update(negative_controls(template, reference))
        ids = []
        for name, answer in answers.items():
            element_id = f"preflight-{row.line}-{name}"
            ids.append((element_id, name))
            event.append(
                {
                    "id": element_id,
                    "messages": [*row.data["messages"], {"role": "assistant", "content": answer}],
                    "metadata": metadata,
                }
            )
        ids_by_line[row.line] = ids
    return event, ids_by_line


def _function_name(arn: str) -> str:
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


def _ascii(text: str) -> str:
    # CloudFormation counts bytes; keep the reason plain ASCII so its length is predictable.
    return text.encode("ascii", errors="replace").decode("ascii")


def _fit(head: str, items: Sequence[str], tail: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``head``, as many ``items`` as fit, ``tail``: never longer than ``limit``."""
    budget = limit - len(head) - len(tail) - 40
    shown: list[str] = []
    for item in items:
        line = f"- {item}"
        if len(line) > 300:
            line = line[:297] + "..."
        if budget - len(line) - 1 < 0:
            break
        shown.append(line)
        budget -= len(line) + 1
    if len(shown) < len(items):
        shown.append(f"- ... and {len(items) - len(shown)} more (see the job starter's logs)")
    text = "\n".join([head, *shown, tail])
    return _ascii(text if len(text) <= limit else text[: limit - 3] + "...")


def _score(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.3g}"
    return repr(value)


def _dimensions(element: Mapping[str, Any]) -> str:
    """``correctness=0, format=0`` from a reply element's Reward metrics (no dataset content)."""
    items = element.get("metrics_list")
    if not isinstance(items, list):
        return ""
    parts = [
        f"{item.get('name')}={_score(item.get('value'))}"
        for item in items
        if isinstance(item, dict) and item.get("type") == "Reward"
    ]
    return f" ({', '.join(parts)})" if parts else ""


def invoke_grader(lambda_client: Any, function_arn: str, event: list[dict[str, Any]], sent: str) -> Any:
    """Invoke the reward function synchronously and return the decoded reply (or raise PreflightError)."""
    name = _function_name(function_arn)
    payload = json.dumps(event).encode("utf-8")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PreflightError(
            f"Preflight would send {len(payload)} bytes to the reward function, over Lambda's 6 MB limit for "
            f"a synchronous call. Sent would be: {sent}. Lower preflight_rows and deploy again."
        )
    try:
        response = lambda_client.invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=payload
        )
    except (ClientError, BotoCoreError) as error:
        raise PreflightError(
            _ascii(
                f"Preflight could not invoke the reward function {function_arn}: {_client_error_text(error)}. "
                f"Sent: {sent}. The job starter's role needs lambda:InvokeFunction on that version ARN. "
                "No training job was started."
            )[:MAX_MESSAGE_CHARS]
        ) from error
    raw = response["Payload"].read()
    try:
        reply = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        reply = raw.decode("utf-8", errors="replace")
    if response.get("FunctionError"):
        error_type = reply.get("errorType", "an error") if isinstance(reply, dict) else "an error"
        error_message = reply.get("errorMessage", "") if isinstance(reply, dict) else str(reply)[:300]
        raise PreflightError(
            _fit(
                f"Preflight failed: the reward function {function_arn} raised {error_type} instead of "
                f"answering.\nSent: {sent}.\nCame back: {error_type}: {error_message[:800]}\n"
                "What is wrong: a reward function must never raise for a data problem (docs/contract.md "
                "section 1); a raise at start-up usually means the bundled reward spec or a grader dependency "
                f"failed to load. Its logs are in the CloudWatch log group /aws/lambda/{name}.",
                [],
                _TODO,
            )
        )
    return reply


def check_ranking(
    reply: list[Any], ids_by_line: Mapping[int, list[tuple[str, str]]]
) -> tuple[list[str], float | None]:
    """Rows whose reference answer does not score strictly above every known-bad answer.

    Returns (problems, worst margin). Assumes the reply already passed ``check_reply``.
    """
    by_id = {element["id"]: element for element in reply}
    problems: list[str] = []
    worst: float | None = None
    for line, ids in ids_by_line.items():
        positive = by_id[ids[0][0]]
        good = positive["aggregate_reward_score"]
        for element_id, control in ids[1:]:
            bad = by_id[element_id]["aggregate_reward_score"]
            margin = good - bad
            worst = margin if worst is None else min(worst, margin)
            if not margin > 0:
                problems.append(
                    f"line {line}: the reference answer scored {_score(good)}{_dimensions(positive)} but the "
                    f"known-bad answer '{control}' scored {_score(bad)}{_dimensions(by_id[element_id])}; "
                    "it must score strictly lower"
                )
    return problems, worst


def run_preflight(
    *, s3: Any, lambda_client: Any, training_uri: str, function_arn: str, rows: int, template: str
) -> PreflightReport:
    """Smoke-test the reward function at ``function_arn`` with the first ``rows`` rows of ``training_uri``.

    Returns a :class:`PreflightReport` (counts) when the grader keeps the contract and ranks every
    reference answer above every known-bad answer; raises :class:`PreflightError` otherwise.
    """
    dataset_rows, scanned = read_rows(s3, training_uri, rows)
    if not dataset_rows:
        raise PreflightError(
            f"Preflight found no usable row in the first {scanned} lines of {training_uri}: a row needs "
            "'messages' and a non-empty 'reference_answer' to be answered with its reference. Check the "
            "training data (rft validate-data), or set preflight_rows=0 to skip the smoke test at your own "
            "risk. No training job was started."
        )
    event, ids_by_line = build_event(dataset_rows, template)
    controls = tuple(dict.fromkeys(name for ids in ids_by_line.values() for _, name in ids))
    lines = ", ".join(str(row.line) for row in dataset_rows)
    sent = (
        f"{len(event)} answers for {len(dataset_rows)} rows (lines {lines}) of {training_uri}, each row "
        f"answered with: {', '.join(controls)}"
    )
    logger.info(
        json.dumps(
            {
                "action": "preflight.invoke",
                "function": function_arn,
                "rows": len(dataset_rows),
                "answers": len(event),
                "controls": list(controls),
            }
        )
    )
    reply = invoke_grader(lambda_client, function_arn, event, sent)

    problems = [_locate(problem, ids_by_line) for problem in check_reply(event, reply)]
    if problems:
        raise PreflightError(
            _fit(
                f"Preflight failed: the reward function {function_arn} broke the reward contract "
                f"(docs/contract.md section 1), so Bedrock could not use its scores.\nSent: {sent}.\n"
                f"Came back: {_describe_reply(reply)}.\nWhat is wrong:",
                problems,
                _TODO,
            )
        )
    ranking, worst = check_ranking(reply, ids_by_line)
    if ranking:
        raise PreflightError(
            _fit(
                f"Preflight failed: the reward function {function_arn} does not score reference answers "
                f"strictly above known-bad answers, so training would reward the wrong behaviour.\n"
                f"Sent: {sent}.\nWhat is wrong ({len(ranking)} of {_comparisons(ids_by_line)} comparisons):",
                ranking,
                _TODO,
            )
        )
    report = PreflightReport(
        rows=len(dataset_rows), answers=len(event), controls=controls, worst_margin=worst
    )
    logger.info(
        json.dumps(
            {
                "action": "preflight.passed",
                "rows": report.rows,
                "answers": report.answers,
                "worst_margin": None if worst is None or not math.isfinite(worst) else round(worst, 4),
            }
        )
    )
    return report


_ELEMENT = re.compile(r"^element (\d+)")


def _locate(problem: str, ids_by_line: Mapping[int, list[tuple[str, str]]]) -> str:
    """``element 7 ...`` → ``element 7 (line 2, answer 'hedged') ...``: which row and answer it was."""
    order = [(line, name) for line, ids in ids_by_line.items() for _, name in ids]
    match = _ELEMENT.match(problem)
    if not match or int(match.group(1)) >= len(order):
        return problem
    line, name = order[int(match.group(1))]
    return f"{match.group(0)} (line {line}, answer '{name}'){problem[match.end() :]}"


def _comparisons(ids_by_line: Mapping[int, list[tuple[str, str]]]) -> int:
    return sum(len(ids) - 1 for ids in ids_by_line.values())


def _describe_reply(reply: Any) -> str:
    if isinstance(reply, list):
        return f"a JSON array of {len(reply)} elements"
    if reply is None:
        return "an empty payload"
    text = json.dumps(reply) if not isinstance(reply, str) else reply
    return f"{type(reply).__name__}: {text[:200]}"
