#!/usr/bin/env python3
"""Cold start: ``python -X importtime -c "import reward.handler"`` with the gsm8k spec and the math spec.

    python benchmarks/bench_coldstart.py            # ~10 s: 5 runs each, median
    python benchmarks/bench_coldstart.py --runs 15

``import reward.handler`` also loads and validates the spec named by ``REWARD_SPEC`` (what the Lambda does
at init). Reported: the ``-X importtime`` total (sum of top-level cumulative import times), wall time of
the whole interpreter run, and the heavy modules that got imported (must be none: sympy and math-verify
load on the first heavy sample, boto3 on the judge's first call, the X-Ray SDK never). Baseline, same run:
``python -c "pass"`` (the interpreter alone). Also shown: the share of Powertools (``reward.telemetry``'s
Logger and EMF provider; the package ``__init__`` brings the botocore package, not boto3).
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
#: Must not load at cold start: sympy / math-verify load on the first heavy sample, boto3 on the judge's
#: first call, and the X-Ray SDK is never used.
HEAVY = ("sympy", "math_verify", "latex2sympy2_extended", "boto3", "mpmath", "aws_xray_sdk")
PROBE = (
    "import sys, reward.handler; "
    f"print(','.join(sorted(h for h in {HEAVY!r} if any(m == h or m.startswith(h + '.') for m in sys.modules))))"
)
POWERTOOLS = "aws_lambda_powertools"


def run(code: str, spec: str | None) -> tuple[float, float, float, str]:
    """(importtime total in ms, of which Powertools in ms, wall ms, heavy modules imported)."""
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
    total_us = powertools_us = 0
    # "import time: self [us] | cumulative | imported package", children (indented deeper) before their
    # parent. Read backwards so a module's importer comes first: count each Powertools subtree once
    # (with what it imports, e.g. jmespath), at its outermost Powertools module.
    ancestors: list[tuple[int, bool]] = []  # (depth, is or is inside a Powertools module)
    for line in reversed(out.stderr.splitlines()):
        if not (line.startswith("import time:") and "|" in line) or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        depth = (len(name) - len(name.lstrip())) // 2
        name = name.strip()
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        inside = bool(ancestors) and ancestors[-1][1]
        is_powertools = name == POWERTOOLS or name.startswith(POWERTOOLS + ".")
        if is_powertools and not inside:
            powertools_us += int(cumulative.strip())
        ancestors.append((depth, inside or is_powertools))
        if depth == 0:
            total_us += int(cumulative.strip())
    return total_us / 1000, powertools_us / 1000, wall, out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = [("baseline: python -c pass", "pass", None)]
    rows += [(f"import reward.handler ({s})", PROBE, f"reward_specs/{s}.toml") for s in ("gsm8k", "math")]
    rows += [("first math use: import math_verify", "import math_verify", None)]
    print(f"{'':48}{'importtime total':>18}{'Powertools':>12}{'wall':>9}  heavy modules imported")
    for label, code, spec in rows:
        results = [run(code, spec) for _ in range(args.runs)]
        total = statistics.median(r[0] for r in results)
        powertools = statistics.median(r[1] for r in results)
        wall = statistics.median(r[2] for r in results)
        probed = code.endswith(PROBE)
        heavy = (results[0][3] or "none") if probed else ""
        print(f"{label:48}{total:15.1f} ms{powertools:9.1f} ms{wall:6.0f} ms  {heavy}")


if __name__ == "__main__":
    main()
