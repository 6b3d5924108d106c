#!/usr/bin/env python3
"""Dataset validation speed: ``validate_dataset_file`` on a file of the service's maximum size.

    python benchmarks/bench_dataset.py              # ~5 s: 20,000 rows, best of 3
    python benchmarks/bench_dataset.py --rows 5000

The validator runs at every ``cdk synth`` and in ``rft validate-data``; a 20,000-row file (Bedrock RFT's
maximum) should take well under two seconds. Baseline, measured in the same run on the same file: the
bare minimum any validator does, ``json.loads`` of every line. Printed, not asserted (the machine is
shared; the test suite checks the verdict, not the time).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))

from reward.dataset import validate_dataset_file  # noqa: E402


def rows(n: int) -> list[str]:
    return [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "Solve the problem. End with #### <answer>."},
                    {"role": "user", "content": f"Problem {i}: what is {i} + {i * 7}?"},
                ],
                "reference_answer": {"final_answer": str(i * 8)},
                "task_id": f"bench_{i}",
            }
        )
        for i in range(n)
    ]


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.jsonl"
        path.write_text("\n".join(rows(args.rows)) + "\n", encoding="utf-8")
        size_mb = path.stat().st_size / 1e6

        def baseline() -> None:
            with path.open("rb") as stream:
                for line in stream:
                    json.loads(line)

        def ours() -> None:
            report = validate_dataset_file(path)
            assert report.ok, report.errors[:3]

        base = best_of(args.runs, baseline)
        full = best_of(args.runs, ours)
    print(f"{args.rows:,} rows ({size_mb:.1f} MB), best of {args.runs}")
    print(f"baseline (json.loads per line)   {base:7.3f} s")
    print(f"validate_dataset_file            {full:7.3f} s   ({full / base:.1f}x the baseline)")
    print(f"target < 2 s for 20,000 rows: {'meets' if full < 2.0 else 'MISSES'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
