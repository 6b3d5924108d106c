"""Grading from the CLI: the spec loaded as a value, batches graded locally through
``reward.grading.grade_event`` (the handler's own code) or by the deployed reward Lambda, reply elements read
back, and grader failures held back while a command runs.

There is no second implementation: the CLI scores exactly what training will.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reward.contract import LAMBDA_PAYLOAD_BYTES
from rft.aws import aws_call, client, reward_function_of
from rft.context import Context
from rft.errors import EXIT_FAILURE, CliError, one_line
from rft.rows import Row

if TYPE_CHECKING:
    from reward.controls import Gradability
    from reward.spec import Spec

#: What one batch may send to the deployed function: Lambda's limit less a margin for the JSON framing.
MAX_PAYLOAD_BYTES = LAMBDA_PAYLOAD_BYTES - 64 * 1024
#: Reward Lambda invocations in flight when grading remotely (``--remote``).
REMOTE_CONCURRENCY = 4

Batch = list[dict[str, Any]]
BatchGrader = Callable[[Batch], list[Any]]


def use_spec(path: str | os.PathLike[str]) -> Spec:
    """The ``Spec`` at ``path``, loaded the way the Lambda loads its bundled spec (``reward.spec.load_spec``)
    and passed as a value from here on (never through ``REWARD_SPEC``). Only the reward library's log level is
    set, to WARNING: its per-batch INFO line is noise on a terminal.

    Raises ``CliError`` (usage) naming the file and field when the spec is missing or invalid.
    """
    spec_file = Path(path)
    if not spec_file.is_file():
        raise CliError(f"{spec_file}: reward spec not found (see reward_specs/ for examples)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    logging.getLogger("reward").setLevel(logging.WARNING)
    from reward.spec import SpecError, load_spec

    try:
        return load_spec(spec_file)
    except SpecError as exc:
        raise CliError(one_line(str(exc))) from None


def gradability(
    spec: Spec, rows: Sequence[Row], *, spec_path: str, data_path: str
) -> tuple[Gradability, str | None]:
    """Which rows' reference answers ``spec`` cannot grade (``reward.controls.check_gradable``), and why the
    pair is refused, or None (``rft score``, ``rft probe`` and ``rft validate-data --spec`` use it; ``cdk
    synth`` refuses the same pairs). A ``control_template`` that names a field the references lack is a
    usage error (``CliError``)."""
    from reward.controls import check_gradable, check_template

    problem = check_template(spec.control_template, [row.reference for row in rows])
    if problem:
        raise CliError(f"{spec_path}: {problem}")
    report = check_gradable(spec, [row.record for row in rows])
    return report, report.problem(lambda i: f"{data_path}:{rows[i].line}")


def local_grader(spec: Spec, *, with_reasons: bool = False) -> BatchGrader:
    """Grade a batch with ``spec`` in this process: ``reward.grading.grade_event``, the handler's own code.

    While ``rft.cli.main`` runs a command, the per-sample WARNING lines about results it could not grade
    are kept by ``GRADING_ERRORS`` instead of printed, and the first ``error`` is reported once.
    """
    from reward.grading import grade_event

    return lambda batch: grade_event(spec, batch, with_reasons=with_reasons)


class GradingErrors(logging.Filter):
    """The reward library's "dimension not graded" log records with status ``error`` (a grader that failed:
    a judge without credentials or permission, a custom grader that raised), kept instead of printed.

    A filter on the library's ``reward`` logger: the records never reach its JSON handler (dozens of lines
    on a terminal); ``first`` keeps the first one's dimension, sample and reason, ``count`` how many came.
    Other statuses (timeout, deadline, no_reference) pass through untouched: the commands report them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.first: tuple[str, str, str] | None = None  # dimension, sample id, reason
        self.count = 0

    @contextlib.contextmanager
    def capturing(self) -> Iterator[GradingErrors]:
        """Keep the records while the block runs (one command), starting from none."""
        self.first, self.count = None, 0
        logger = logging.getLogger("reward")
        logger.addFilter(self)
        try:
            yield self
        finally:
            logger.removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "dimension not graded" or getattr(record, "status", None) != "error":
            return True
        self.count += 1
        if self.first is None:
            self.first = (
                str(getattr(record, "dimension", "?")),
                str(getattr(record, "sample_id", "?")),
                one_line(str(getattr(record, "reason", ""))),
            )
        return False

    def message(self) -> str | None:
        """One line naming the first failure and its reason, or None when no grader failed."""
        if self.first is None:
            return None
        dimension, sample, reason = self.first
        return (
            f"a grader failed ({self.count} result{'s' if self.count != 1 else ''} with status error); the "
            f"first, dimension {dimension!r} on sample {sample}: {reason}"
        )


#: Grader failures seen while ``rft.cli.main`` runs a command (``GRADING_ERRORS.capturing()``).
GRADING_ERRORS = GradingErrors()


@dataclass(frozen=True)
class Scored:
    """One reply element, read back: the aggregate and each dimension's reward and status."""

    aggregate: float
    rewards: Mapping[str, float]
    statuses: Mapping[str, str]


def read_reply_element(element: Mapping[str, Any], dimensions: Sequence[str]) -> Scored:
    """Per-dimension rewards (``Reward`` metrics) and statuses (``<dim>.status.<status>`` metrics)."""
    rewards: dict[str, float] = {}
    statuses = dict.fromkeys(dimensions, "ok")
    for item in element.get("metrics_list") or ():
        name = item.get("name", "")
        if item.get("type") == "Reward" and name in statuses:
            rewards[name] = float(item["value"])
        elif item.get("type") == "Metric" and ".status." in name:
            dim, _, status = name.partition(".status.")
            if dim in statuses:
                statuses[dim] = status
    return Scored(float(element["aggregate_reward_score"]), rewards, statuses)


def batches(elements: Sequence[dict[str, Any]], size: int) -> list[Batch]:
    return [list(elements[i : i + size]) for i in range(0, len(elements), size)]


def grade_all(
    elements: Sequence[dict[str, Any]],
    grader: BatchGrader,
    *,
    batch_size: int,
    concurrency: int = 1,
    progress: Any | None = None,
    check: Callable[[Batch, Any], list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Reply elements for ``elements`` in order, graded ``batch_size`` at a time.

    With ``concurrency > 1`` the batches run on a bounded thread pool (for the remote Lambda: I/O bound).
    ``check(batch, reply)`` returns contract problems; any problem is a ``CliError`` naming the batch.
    """
    work = batches(elements, batch_size)
    replies: list[list[Any] | None] = [None] * len(work)

    def run(index: int) -> list[Any]:
        batch = work[index]
        reply = grader(batch)
        problems = check(batch, reply) if check is not None else []
        if problems:
            first, last = batch[0]["id"], batch[-1]["id"]
            listed = "\n  ".join(problems[:10])
            raise CliError(
                f"the reply to batch {index + 1} (samples {first} … {last}) breaks the reward contract:\n  {listed}",
                EXIT_FAILURE,
            )
        return reply

    if concurrency <= 1 or len(work) <= 1:
        for index in range(len(work)):
            replies[index] = run(index)
            if progress is not None:
                progress.update(len(work[index]))
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {pool.submit(run, index): index for index in range(len(work))}
            for future in as_completed(futures):
                index = futures[future]
                replies[index] = future.result()
                if progress is not None:
                    progress.update(len(work[index]))
    if progress is not None:
        progress.close()
    return [element for reply in replies for element in (reply or [])]


def grader_for(
    args: argparse.Namespace, ctx: Context, stack: str | None, spec: Spec
) -> tuple[BatchGrader, int, str]:
    """(grader, concurrency, description): the handler's code here, or the stack's reward Lambda with
    --remote."""
    if not getattr(args, "remote", False):
        return local_grader(spec), 1, "lambda_handler (local)"
    if not stack:
        raise CliError("--remote grades with the deployed reward Lambda: name its stacks with --stack NAME")

    function = reward_function_of(ctx, stack, args.region)
    grader = lambda_grader(client(ctx, "lambda", args.region), function)
    return grader, REMOTE_CONCURRENCY, f"the deployed reward Lambda {function}"


def lambda_grader(lambda_client: Any, function: str) -> BatchGrader:
    """Grade a batch by invoking the deployed reward Lambda synchronously; returns its parsed reply."""

    def grade(batch: Batch) -> Any:
        payload = json.dumps(batch, ensure_ascii=False).encode("utf-8")
        if len(payload) > MAX_PAYLOAD_BYTES:
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
