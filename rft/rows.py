"""Dataset rows as the commands use them: the valid records of a file (through ``reward.dataset``, the one
reader), what was skipped, and the reward event element Bedrock would send for a response to a row.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rft.errors import CliError


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
