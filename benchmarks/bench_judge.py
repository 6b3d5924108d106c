#!/usr/bin/env python3
"""The ``judge`` grader on a batch against the Bedrock Runtime emulator at a fixed latency per call.

    python benchmarks/bench_judge.py                    # ~30 s: 64 samples at 300 ms per call
    python benchmarks/bench_judge.py --samples 128 --latency 0.3 --throttle 0.3

Both sides send the same Converse requests (the grader's own, built by ``JudgeGrader.request``) through
boto3 to ``tests/bedrock_emulator.py`` (a real HTTP server on 127.0.0.1; boto3 signs, serializes and
parses for real). Samples: the reference replies of ``data/support/train.jsonl`` (distinct, so the cache
does not help), judged on the ``quality`` rubric of ``reward_specs/support_rubric.toml``.

- baseline: the AWS sample judge's approach — one ``converse`` call after another (botocore's default
  retries), then the verdict parsed;
- ours: ``reward.runner.grade_batch`` (the Lambda's path): ``concurrency`` calls in flight (default 16),
  our own retries with full-jitter backoff under the batch deadline.

Then the same with ``--throttle`` (default 30%) of requests answered ThrottlingException: the fraction
of samples scored and the wall time, ours vs the sequential baseline. Target: ours >= 10x faster on the
clean run. Printed, not asserted (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from reward.event import parse_event  # noqa: E402
from reward.graders.judge import model_id  # noqa: E402
from reward.judge import runtime as judge_runtime  # noqa: E402
from reward.judge.checks import new_nonce  # noqa: E402
from reward.judge.prompt import VerdictError, parse_verdict  # noqa: E402
from reward.runner import grade_batch  # noqa: E402
from reward.spec import Spec, parse_spec  # noqa: E402
from tests.bedrock_emulator import Script, bedrock_emulator  # noqa: E402


def quality_spec() -> Spec:
    """The support rubric's ``quality`` dimension alone (one judge call per sample)."""
    data = tomllib.loads((ROOT / "reward_specs/support_rubric.toml").read_text(encoding="utf-8"))
    quality = next(d for d in data["dimensions"] if d["name"] == "quality")
    dimension = {"name": "quality", "grader": "judge", "params": quality["params"]}
    return parse_spec({"name": "quality_only", "dimensions": [dimension]})


def samples(n: int) -> list:
    rows = [json.loads(line) for line in (ROOT / "data/support/train.jsonl").read_text().splitlines() if line]
    rows = (rows * (n // len(rows) + 1))[:n]
    event = [
        {
            "id": str(i),
            "messages": [
                *row["messages"],
                {"role": "assistant", "content": f"{row['reference_answer']['answer']}\n(#{i})"},
            ],
            "metadata": {"reference_answer": row["reference_answer"]},
        }
        for i, row in enumerate(rows)
    ]
    return parse_event(event)


def sequential(spec, batch) -> tuple[float, int]:
    """Baseline: one call after another with botocore's default client (its standard retries)."""
    import boto3

    grader = spec.graders[0]
    client = boto3.client("bedrock-runtime")
    p = grader.params
    scored = 0
    started = time.perf_counter()
    for sample in batch:
        try:
            reply = client.converse(**grader.request(model_id(), sample, new_nonce()))
            parse_verdict(reply["output"], reply["stopReason"], p.rubric, p.scale)
            scored += 1
        except (VerdictError, client.exceptions.ThrottlingException):
            pass
    return time.perf_counter() - started, scored


def ours(spec, batch, deadline_s: float) -> tuple[float, Counter, dict]:
    judge_runtime.CACHE.clear()
    started = time.perf_counter()
    rows = grade_batch(spec, batch, deadline=time.monotonic() + deadline_s)
    elapsed = time.perf_counter() - started
    grades = [row[0] for row in rows]
    totals = Counter()
    for g in grades:
        for key in ("judge_calls", "judge_throttles", "judge_retries"):
            totals[key] += int(g.metrics.get(key, 0))
    return elapsed, Counter(g.status.value for g in grades), dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per emulated call")
    parser.add_argument("--throttle", type=float, default=0.3, help="fraction of requests throttled")
    parser.add_argument("--deadline", type=float, default=60.0, help="batch deadline for ours, seconds")
    args = parser.parse_args()

    spec = quality_spec()
    batch = samples(args.samples)
    concurrency = spec.graders[0].params.concurrency
    print(
        f"{args.samples} samples, one judge call each, emulator latency {args.latency * 1000:.0f} ms per call"
    )
    print(
        f"model {model_id()}, concurrency {concurrency}, max_attempts {spec.graders[0].params.max_attempts}\n"
    )

    with bedrock_emulator(Script(latency_s=args.latency)):
        ours(spec, batch[:2], args.deadline)  # warm: boto3 import and client creation, as at Lambda init
        base_s, base_scored = sequential(spec, batch)
        our_s, statuses, totals = ours(spec, batch, args.deadline)
    print(f"{'clean':<10} {'wall':>8} {'scored':>8} {'calls':>6}")
    print(f"{'baseline':<10} {base_s:7.2f}s {base_scored / len(batch):8.0%} {len(batch):>6}   (sequential)")
    print(
        f"{'ours':<10} {our_s:7.2f}s {statuses['ok'] / len(batch):8.0%} {totals['judge_calls']:>6}   {dict(statuses)}"
    )
    speedup = base_s / our_s
    print(f"speedup {speedup:.1f}x (target >= 10x: {'meets' if speedup >= 10 else 'MISSES'})\n")

    script = Script(latency_s=args.latency, throttle_fraction=args.throttle)
    with bedrock_emulator(script) as emu:
        ours(spec, batch[:2], args.deadline)
        emu.script = Script(latency_s=args.latency, throttle_fraction=args.throttle)
        base_s, base_scored = sequential(spec, batch)
        throttled_base = len(emu.answered("ThrottlingException"))
        emu.requests.clear()
        our_s, statuses, totals = ours(spec, batch, args.deadline)
    print(f"{args.throttle:.0%} of requests throttled (429 ThrottlingException)")
    print(f"{'':<10} {'wall':>8} {'scored':>8} {'calls':>6} {'throttles':>9} {'retries':>8}")
    print(
        f"{'baseline':<10} {base_s:7.2f}s {base_scored / len(batch):8.0%} {'':>6} {throttled_base:>9} {'':>8}"
        "   (sequential, botocore retries)"
    )
    print(
        f"{'ours':<10} {our_s:7.2f}s {statuses['ok'] / len(batch):8.0%} {totals['judge_calls']:>6} "
        f"{totals['judge_throttles']:>9} {totals['judge_retries']:>8}   {dict(statuses)}"
    )


if __name__ == "__main__":
    main()
