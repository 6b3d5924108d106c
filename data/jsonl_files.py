"""What every ``data/<name>/generate.py`` shares: JSONL rendering and the ``--out DIR`` / ``--check`` command
line. Not a script; a generator imports it after putting ``data/`` on ``sys.path``. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any


def render(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """JSONL bytes: one object per line, UTF-8 (non-ASCII kept as is), LF endings."""
    return b"".join(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" for row in rows)


def main(
    argv: list[str] | None,
    *,
    build: Callable[[], Mapping[str, list[dict[str, Any]]]],
    here: Path,
    doc: str,
) -> int:
    """Write ``build()``'s rows (file name -> rows) into ``--out`` (default ``here``), or with ``--check``
    exit 1 if a file there is missing or differs from a fresh run. ``doc``: the generator's docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=here, help="directory to write into (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from a fresh run")
    args = parser.parse_args(argv)
    rows_by_file = build()
    files = {name: render(rows) for name, rows in rows_by_file.items()}
    if args.check:
        stale = [
            str(args.out / name)
            for name, data in files.items()
            if not (args.out / name).is_file() or (args.out / name).read_bytes() != data
        ]
        if stale:
            print(
                f"out of date: {', '.join(stale)}; run python data/{here.name}/generate.py", file=sys.stderr
            )
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {len(rows_by_file[name])} rows to {args.out / name}")
    return 0
