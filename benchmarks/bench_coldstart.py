#!/usr/bin/env python3
"""Cold start: ``python -X importtime -c "import reward.handler"`` with the gsm8k spec and the math spec.

    python benchmarks/bench_coldstart.py            # ~10 s: 5 runs each, median
    python benchmarks/bench_coldstart.py --runs 15

``import reward.handler`` also loads and validates the spec named by ``REWARD_SPEC`` (what the Lambda does
at init). Reported: the ``-X importtime`` total (sum of top-level cumulative import times), wall time of
the whole interpreter run, and the heavy modules that got imported (must be none: sympy, math-verify and
boto3 load on first use). Baseline, same run: ``python -c "pass"`` (the interpreter alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sympy", "math_verify", "latex2sympy2_extended", "boto3", "botocore", "mpmath")
PROBE = f"import sys, reward.handler; print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"


def run(code: str, spec: str | None) -> tuple[float, float, str]:
    """(importtime total in ms, wall ms, heavy modules imported)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lambda_src"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("REWARD_SPEC", None)
    if spec:
        env["REWARD_SPEC"] = str(ROOT / spec)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True
    )
    wall = (time.perf_counter() - started) * 1000
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    total_us = 0
    for line in out.stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"; top level = no indentation in the name
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|", 2)
            if not name.startswith("  "):
                total_us += int(cumulative.strip())
    return total_us / 1000, wall, out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = [("baseline: python -c pass", "pass", None)]
    rows += [(f"import reward.handler ({s})", PROBE, f"reward_specs/{s}.toml") for s in ("gsm8k", "math")]
    rows += [("first math use: import math_verify", "import math_verify", None)]
    print(f"{'':42}{'importtime total':>18}{'wall':>10}  heavy modules imported")
    for label, code, spec in rows:
        results = [run(code, spec) for _ in range(args.runs)]
        total = statistics.median(r[0] for r in results)
        wall = statistics.median(r[1] for r in results)
        heavy = results[0][2] if code == PROBE else ""
        print(f"{label:42}{total:15.1f} ms{wall:8.0f} ms  {heavy or ('none' if code == PROBE else '')}")


if __name__ == "__main__":
    main()
