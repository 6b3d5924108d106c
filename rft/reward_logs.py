"""The reward library's structured logs, kept off the terminal while an ``rft`` command runs.

The reward Lambda logs one JSON line per dimension it could not grade (``dimension not graded``) — right
for CloudWatch, noise around a table on a terminal (``rft probe`` printed 220 of them). While a command
runs, ``RewardLogs`` holds every record the ``reward`` loggers emit; afterwards the command writes them to
``reward-log.jsonl`` in its output directory (when it has one) and says so in one line, or prints one line
of counts per message and status. ``--verbose`` lets them through as before. The Lambda is unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

#: The file the held records go to, in the command's ``--out`` directory.
LOG_FILE = "reward-log.jsonl"
_MAX_KEPT = 100_000  # records kept for the file; the counts cover every record


class RewardLogs(logging.Filter):
    """A handler filter on the ``reward`` logger's handlers: holds the records instead of printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.counts: Counter[str] = Counter()
        self._handler: logging.Handler | None = None

    @contextlib.contextmanager
    def holding(self) -> Iterator[RewardLogs]:
        """Hold the records while the block runs (one command)."""
        self.lines, self.counts = [], Counter()
        handlers = list(logging.getLogger("reward").handlers)
        self._handler = handlers[0] if handlers else None
        for handler in handlers:
            handler.addFilter(self)
        try:
            yield self
        finally:
            for handler in handlers:
                handler.removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status", None)
        self.counts[f"{record.getMessage()}{f' ({status})' if status else ''}"] += 1
        if len(self.lines) < _MAX_KEPT:
            formatter = self._handler.formatter if self._handler is not None else None
            self.lines.append(formatter.format(record) if formatter is not None else record.getMessage())
        return False

    def summary(self) -> str:
        """``12 × dimension not graded (failed), 1 × batch graded`` (most frequent first)."""
        return ", ".join(f"{n} × {what}" for what, n in self.counts.most_common(5)) + (
            ", …" if len(self.counts) > 5 else ""
        )

    def report(self, out_dir: str | None) -> str | None:
        """One line saying where the held records went (written to ``out_dir``), or None when none came."""
        total = sum(self.counts.values())
        if not total:
            return None
        noun = "line" if total == 1 else "lines"
        if out_dir:
            path = Path(out_dir) / LOG_FILE
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("".join(line + "\n" for line in self.lines), encoding="utf-8")
                return f"{total} reward log {noun} ({self.summary()}) in {path}; --verbose shows them"
            except OSError:
                pass
        return f"{total} reward log {noun} held back ({self.summary()}); --verbose shows them"


__all__ = ["LOG_FILE", "RewardLogs"]
