#!/usr/bin/env python3
"""``rft score`` and ``rft probe`` at scale: both must stay linear in the rows, probe at a constant
multiple of score (it grades ~25 responses per row where score grades one).

    python benchmarks/bench_cli_scale.py                  # 2,000 and 8,000 rows (~2 min)
    python benchmarks/bench_cli_scale.py --rows 25000 100000

Data: GSM8K-style rows (reward_specs/gsm8k.toml, a light spec) generated with a fixed seed into a
temporary file. Prints seconds, microseconds per row and the probe/score ratio per size: linear means
the per-row cost stays flat as the file grows. Numbers are printed, not asserted (shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "lambda_src"))
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

from rft.cli import main  # noqa: E402


def write_rows(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            a, b = 3 + i % 97, 7 + i % 89
            row = {
                "messages": [
                    {"role": "user", "content": f"Tom has {a} apples and buys {b} more. How many? (#{i})"}
                ],
                "reference_answer": {"final_answer": str(a + b)},
                "task_id": f"t{i}",
            }
            out.write(json.dumps(row) + "\n")


def timed(argv: list[str]) -> float:
    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    elapsed = time.perf_counter() - started
    if code not in (0, 1):
        raise SystemExit(f"{argv[0]} exited {code}:\n{sink.getvalue()[-2000:]}")
    return elapsed


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 8000])
    args = parser.parse_args()
    spec = str(ROOT / "reward_specs/gsm8k.toml")
    print(f"{'rows':>8} {'score s':>9} {'us/row':>8} {'probe s':>9} {'us/row':>9} {'probe/score':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            data = Path(tmp) / f"rows{n}.jsonl"
            write_rows(data, n)
            score = timed(["score", "--spec", spec, "--data", str(data), "--batch", "256"])
            probe = timed(["probe", "--spec", spec, "--data", str(data)])
            print(
                f"{n:>8,} {score:>9.2f} {score / n * 1e6:>8.0f} {probe:>9.2f} {probe / n * 1e6:>9.0f} "
                f"{probe / score:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main_()
