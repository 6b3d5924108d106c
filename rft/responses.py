"""A responses file (``rft score --responses``): each line matched to its dataset row by ``task_id`` or
``line``, with errors that name the responses file's line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reward.dataset import json_error_message
from rft.errors import EXIT_FAILURE, CliError
from rft.rows import Row


def read_responses(path: Path, rows: Sequence[Row]) -> list[tuple[Row, str, int]]:
    """Match each line of a responses file to its dataset row, by ``task_id`` or by ``line``.

    Returns ``(row, response, responses_line)``. Anything unreadable or unmatched is a ``CliError`` that
    names the responses file's line and what to write instead.
    """
    if not path.is_file():
        raise CliError(f"{path}: no such responses file")
    by_line = {row.line: row for row in rows}
    by_task: dict[str, Row] = {}
    duplicated: set[str] = set()
    for row in rows:
        if row.task_id is not None:
            if row.task_id in by_task:
                duplicated.add(row.task_id)
            by_task[row.task_id] = row
    pairs: list[tuple[Row, str, int]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CliError(f"{where}: {json_error_message(exc)}", EXIT_FAILURE) from None
        if not isinstance(record, Mapping):
            raise CliError(f'{where}: expected an object {{"task_id": ..., "response": "..."}}', EXIT_FAILURE)
        response = record.get("response")
        if not isinstance(response, str):
            raise CliError(f"{where}: `response` must be a string, got {kind_of(response)}", EXIT_FAILURE)
        pairs.append((match_row(record, where, by_task, duplicated, by_line), response, number))
    if not pairs:
        raise CliError(f"{path}: the responses file is empty (one JSON object per line)")
    return pairs


def match_row(
    record: Mapping[str, Any],
    where: str,
    by_task: Mapping[str, Row],
    duplicated: set[str],
    by_line: Mapping[int, Row],
) -> Row:
    if record.get("task_id") is not None:
        task_id = str(record["task_id"])
        if task_id in duplicated:
            raise CliError(
                f"{where}: task_id {task_id!r} is on several dataset rows; match by `line` instead", 1
            )
        if task_id not in by_task:
            raise CliError(f"{where}: task_id {task_id!r} matches no valid row of the dataset", EXIT_FAILURE)
        return by_task[task_id]
    line = record.get("line")
    if isinstance(line, int) and not isinstance(line, bool):
        if line not in by_line:
            raise CliError(
                f"{where}: line {line} is not a valid (or selected) record of the dataset", EXIT_FAILURE
            )
        return by_line[line]
    raise CliError(
        f'{where}: say which row the response answers: "task_id": "<the row\'s task_id>" or "line": <its line number>',
        EXIT_FAILURE,
    )


def kind_of(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
