"""What every ``rft`` command shares: the spec and the handler, dataset rows as reward events, batches
graded locally or by the deployed Lambda, reply parsing, statistics, a text histogram and a progress bar.

Grading always goes through ``reward.grading.grade_event`` (locally, the handler's own code) or the deployed reward Lambda
(``--remote``), so the CLI scores exactly what training will: there is no second implementation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from reward.contract import LAMBDA_PAYLOAD_BYTES

if TYPE_CHECKING:
    from reward.spec import Spec

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: What one batch may send to the deployed function: Lambda's limit less a margin for the JSON framing.
MAX_PAYLOAD_BYTES = LAMBDA_PAYLOAD_BYTES - 64 * 1024

Batch = list[dict[str, Any]]
BatchGrader = Callable[[Batch], list[Any]]


@dataclass(frozen=True)
class Context:
    """What a command writes to and reaches the outside world through (tests inject their own)."""

    out: IO[str]
    err: IO[str]
    #: ``(service_name, region) -> boto3 client``; ``None`` means ``boto3.client``.
    client_factory: Callable[[str, str], Any] | None = None
    sleep: Callable[[float], None] = time.sleep


class CliError(Exception):
    """A problem the user must fix; ``main`` prints the message and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def user_error(exc: BaseException) -> CliError | None:
    """The ``CliError`` a user should see for ``exc``, or None when ``exc`` is a bug (not the user's doing).

    ``rft.cli.main`` runs every command through this, so a command needs no error handling of its own
    for what the library raises on bad input: an invalid spec (``SpecError``, which names the file and
    field), a grader parameter, a file that is missing, unreadable or not UTF-8, bad JSON (exit 2), and AWS
    errors — no credentials, access denied, an unreachable endpoint (exit 1).
    """
    if isinstance(exc, CliError):
        return exc
    from reward.graders.base import ParamError
    from reward.spec import SpecError

    if isinstance(exc, (SpecError, ParamError)):
        return CliError(one_line(str(exc)))
    if isinstance(exc, OSError) and exc.filename is not None:
        return CliError(f"{exc.filename}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, UnicodeDecodeError):
        return CliError(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    if isinstance(exc, json.JSONDecodeError):
        from reward.dataset import json_error_message

        return CliError(f"line {exc.lineno}: {json_error_message(exc)}")
    return _aws_error(exc)


def _aws_error(exc: BaseException) -> CliError | None:
    if sys.modules.get("botocore.exceptions") is None:  # botocore was never imported: not one of its errors
        return None
    from rft.aws_errors import explain

    message = explain(exc)
    return None if message is None else CliError(message, EXIT_FAILURE)


def one_line(text: str) -> str:
    """``text`` with its lines joined by "; " (an error message is one line on a terminal)."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def version() -> str:
    """The installed package's version (pyproject.toml's ``version``), or the source tree's."""
    from importlib import metadata

    try:
        return metadata.version("nova-rft-kit")
    except metadata.PackageNotFoundError:  # run from a checkout without `pip install -e .`
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


# --------------------------------------------------------------------------------------------------
# The spec, loaded by the very loader the Lambda runs at init, and passed along as a value.


def use_spec(path: str | os.PathLike[str]) -> Spec:
    """The ``Spec`` at ``path``, loaded the way the Lambda loads its bundled spec (``reward.spec.load_spec``)
    and passed as a value from here on: nothing is read from, or written to, the environment.

    Raises ``CliError`` (usage) naming the file and field when the spec is missing or invalid.
    """
    spec_file = Path(path)
    if not spec_file.is_file():
        raise CliError(f"{spec_file}: reward spec not found (see reward_specs/ for examples)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the handler's per-batch INFO line is noise on a terminal
    logging.getLogger("reward").setLevel(logging.WARNING)
    from reward.spec import SpecError, load_spec

    try:
        return load_spec(spec_file)
    except SpecError as exc:
        raise CliError(one_line(str(exc))) from None


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


# --------------------------------------------------------------------------------------------------
# Dataset rows and reward events.


@dataclass(frozen=True)
class Row:
    """One valid dataset record and the line it is on."""

    line: int
    record: Mapping[str, Any]

    @property
    def task_id(self) -> str | None:
        value = self.record.get("task_id")
        return None if value is None else str(value)

    @property
    def reference(self) -> Any:
        return self.record.get("reference_answer")

    @property
    def user_text(self) -> str:
        for message in reversed(self.record.get("messages") or []):
            if isinstance(message, Mapping) and message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else ""
        return ""

    @property
    def label(self) -> str:
        return f"line {self.line}" + (f" ({self.task_id})" if self.task_id else "")


class Rows(list[Row]):
    """The valid rows of a dataset file, and what was skipped: ``skipped`` invalid records, the first on
    line ``first_skipped``."""

    skipped: int = 0
    first_skipped: int | None = None
    source: str = ""

    def skipped_error(self) -> str | None:
        """The one-line summary a command ends with when it skipped records, or None."""
        if not self.skipped:
            return None
        return (
            f"{self.skipped} invalid record(s) in {self.source} were skipped (the first on line "
            f"{self.first_skipped}): fix them (`rft validate-data {self.source}`), or pass --skip-invalid "
            "to grade the rest and exit 0"
        )


def check_at_least_one(*flags: tuple[str, int | None]) -> None:
    """A usage error naming the first flag whose value is below 1 (``None`` = not given)."""
    for flag, value in flags:
        if value is not None and value < 1:
            raise CliError(f"{flag} {value}: must be >= 1")


def add_skip_invalid(parser: Any) -> None:
    """``--skip-invalid``: grade the valid records and exit 0 even when some were skipped."""
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="grade the valid records and exit 0 when some are invalid (default: exit 1, naming the first)",
    )


def load_rows(path: str | os.PathLike[str], *, limit: int | None = None, err: IO[str] | None = None) -> Rows:
    """The dataset's valid rows, through ``reward.dataset.iter_rows`` (the one reader).

    Invalid records are skipped with a note on ``err`` that names ``rft validate-data`` (and counted in
    ``Rows.skipped``); a missing, unreadable or empty file, or one without a valid row, is a ``CliError``
    (usage: exit 2).
    """
    from reward.dataset import iter_rows, validate_dataset_file

    data = Path(path)
    if not data.is_file():
        raise CliError(f"{data}: no such dataset file")
    report = validate_dataset_file(data, min_rows=0, max_rows=sys.maxsize)
    unreadable = next((f for f in report.errors if f.code == "unreadable-file"), None)
    if unreadable is not None:
        raise CliError(f"{data}: {unreadable.message}")
    if report.rows == 0:
        raise CliError(f"{data}: the dataset file is empty (one JSON record per line)")
    rows = Rows()
    rows.source = str(data)
    for line, record in iter_rows(data):
        rows.append(Row(line, record))
        if limit is not None and len(rows) >= limit:
            break
    bad_lines = sorted({f.line for f in report.errors if f.line})
    rows.skipped, rows.first_skipped = len(bad_lines), (bad_lines[0] if bad_lines else None)
    if not rows:
        why = f" ({len(bad_lines)} invalid, the first on line {bad_lines[0]})" if bad_lines else ""
        raise CliError(f"{data}: no valid records to grade{why}; run `rft validate-data {data}`")
    if report.error_count and err is not None:
        shown = ", ".join(map(str, bad_lines[:8])) + (", …" if len(bad_lines) > 8 else "")
        print(
            f"warning: {data}: {report.error_count} dataset error(s); records on line(s) {shown} are skipped. "
            f"Run `rft validate-data {data}` for details.",
            file=err,
        )
    if err is not None:
        warn_over_limits(data, report.rows, limit, err)
    return rows


def warn_over_limits(data: Path, records: int, limit: int | None, err: IO[str]) -> None:
    """Say so when the file is larger than a training job accepts (docs/contract.md: at most 20,000
    prompts): grading it all still works, but it is not a dataset Bedrock will train on, and a probe of
    every row costs ~25 gradings per row."""
    from reward.dataset import DEFAULT_MAX_ROWS

    if records <= DEFAULT_MAX_ROWS:
        return
    graded = f"the first {limit:,} of them" if limit is not None and limit < records else "all of them"
    print(
        f"warning: {data} has {records:,} records, over the {DEFAULT_MAX_ROWS:,} prompts a Bedrock RFT job "
        f"accepts (docs/time-limits.md); the job would reject this file. Grading {graded}"
        + ("" if limit is not None else "; use --limit N to grade a sample")
        + ".",
        file=err,
    )


def event_element(
    row: Row, response: str, sample_id: str, *, message: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The element Bedrock sends the reward Lambda for ``response`` to ``row`` (docs/contract.md §1).
    ``message``: the whole assistant message instead (e.g. text and ``toolUse`` blocks)."""
    reply = dict(message) if message is not None else {"role": "assistant", "content": response}
    return {
        "id": sample_id,
        "messages": [*row.record["messages"], reply],
        "metadata": {k: v for k, v in row.record.items() if k != "messages"},
    }


# --------------------------------------------------------------------------------------------------
# Replies.


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


# --------------------------------------------------------------------------------------------------
# Running batches.


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


# --------------------------------------------------------------------------------------------------
# Statistics and text histograms.


@dataclass(frozen=True)
class Summary:
    """Distribution of a list of scores."""

    n: int
    mean: float
    std: float
    min: float
    p10: float
    p50: float
    p90: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("n", "mean", "std", "min", "p10", "p50", "p90", "max")}


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of sorted values, linearly interpolated (numpy's default)."""
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Iterable[float]) -> Summary:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Summary(0, *([math.nan] * 7))
    mean = math.fsum(ordered) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in ordered) / n)
    return Summary(
        n,
        mean,
        std,
        ordered[0],
        percentile(ordered, 10),
        percentile(ordered, 50),
        percentile(ordered, 90),
        ordered[-1],
    )


def text_histogram(
    values: Sequence[float], *, low: float = -1.0, high: float = 1.0, bins: int = 10, width: int = 40
) -> str:
    """A horizontal histogram of ``values`` over [low, high], one line per bin (the last bin is closed)."""
    counts = [0] * bins
    span = (high - low) / bins
    for value in values:
        index = int((value - low) / span) if span > 0 else 0
        counts[min(max(index, 0), bins - 1)] += 1
    peak = max(counts) or 1
    lines = []
    for i, count in enumerate(counts):
        left, right = low + i * span, low + (i + 1) * span
        closing = "]" if i == bins - 1 else ")"
        bar = "█" * round(width * count / peak)
        if count and not bar:
            bar = "▏"
        lines.append(f"  [{left:+.1f}, {right:+.1f}{closing} {bar:<{width}} {count}")
    return "\n".join(lines)


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) for ``--out``; a file in the way is a usage error."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    return out
