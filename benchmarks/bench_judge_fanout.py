#!/usr/bin/env python3
"""The judge under RFT fan-out: N reward Lambda invocations at once against one shared judge quota.

    python benchmarks/bench_judge_fanout.py                          # the three shared-quota loads, ~6 min
    python benchmarks/bench_judge_fanout.py --load 12x32@8 --remaining 60 --latency 0.2

The shared-quota emulator (``tests/bedrock_emulator.py`` with ``quota_per_s``: a real HTTP server on
127.0.0.1 speaking Converse, admitting that many requests per second for all callers together and
answering the rest ``429 ThrottlingException`` at once; an admitted call takes ``--latency``). N handler
*processes* (spawned, as N Lambda execution environments) each run the real ``reward.handler.lambda_handler``
with ``reward_specs/support_rubric.toml`` (two judge calls per sample), boto3 pointed at the emulator by
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, and a fake Lambda context with ``--remaining`` seconds left; they
are started together once every process has imported its code and created its client (as at Lambda init).
Samples are distinct reference replies of ``data/support/train.jsonl`` (the verdict cache never helps).

Each load runs twice: **before** (``JUDGE_PACING=off``: the behaviour before pacing — ``max_attempts``
attempts per call whatever the error, ``concurrency`` calls in flight per invocation, first come first
served) and **after** (the default: adaptive pacing, throttles retried until the batch deadline, calls in
sample order). Printed per run: samples judged (both judge dimensions ``ok``), judge results ``ok``, the
share of what the quota allows within the Lambda's deadline (quota x remaining time, capped at the calls
needed), calls per needed call, throttled share, the other statuses, and the slowest invocation's wall
time against the quota's minimum (calls needed / quota). Printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))
sys.path.insert(0, str(ROOT))

SPEC = ROOT / "reward_specs" / "support_rubric.toml"
JUDGE_DIMENSIONS = ("quality", "safety")
LOADS = ("6x24@20", "12x32@20", "12x32@8")


@dataclass(frozen=True)
class Load:
    invocations: int
    samples: int
    quota_per_s: float

    @classmethod
    def parse(cls, text: str) -> Load:
        shape, _, quota = text.partition("@")
        n, _, s = shape.partition("x")
        return cls(int(n), int(s), float(quota))

    @property
    def needed(self) -> int:
        return self.invocations * self.samples * len(JUDGE_DIMENSIONS)

    def __str__(self) -> str:
        return f"{self.invocations} x {self.samples} @ {self.quota_per_s:g} req/s"


class FakeContext:
    """What the handler reads from a Lambda context: the request id and the time remaining."""

    def __init__(self, remaining_s: float) -> None:
        self.aws_request_id = f"bench-{os.getpid()}"
        self._end = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._end - time.monotonic()) * 1000)


def event_for(worker: int, n: int) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "data/support/train.jsonl").read_text().splitlines() if line]
    event = []
    for i in range(n):
        row = rows[(worker * n + i) % len(rows)]
        reply = f"{row['reference_answer']['answer']}\n(#{worker}-{i})"  # distinct: the cache never helps
        event.append(
            {
                "id": f"{worker}-{i}",
                "messages": [*row["messages"], {"role": "assistant", "content": reply}],
                "metadata": {"reference_answer": row["reference_answer"]},
            }
        )
    return event


def invocation(worker: int, samples: int, remaining_s: float, ready, start, results) -> None:
    """One Lambda execution environment: init (spec, client), wait for the start, handle one event."""
    os.environ["REWARD_SPEC"] = str(SPEC)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    from reward.handler import current_spec, lambda_handler

    for grader in current_spec().graders:
        grader.warm()  # as the handler's init does on Lambda
    event = event_for(worker, samples)
    ready.put(worker)
    start.wait()
    context = FakeContext(remaining_s)
    began = time.monotonic()
    reply = lambda_handler(event, context)
    took = time.monotonic() - began
    statuses: Counter = Counter()
    calls = throttles = judged = 0
    for element in reply:
        metrics = {m["name"]: m["value"] for m in element["metrics_list"]}
        bad = {
            n.split(".status.")[1] for n in metrics if ".status." in n and n.split(".")[0] in JUDGE_DIMENSIONS
        }
        for dim in JUDGE_DIMENSIONS:
            found = [n.split(".status.")[1] for n in metrics if n.startswith(f"{dim}.status.")]
            statuses[found[0] if found else "ok"] += 1
            calls += int(metrics.get(f"{dim}.judge_calls", 0))
            throttles += int(metrics.get(f"{dim}.judge_throttles", 0))
        judged += not bad
    results.put(
        {"worker": worker, "took": took, "statuses": dict(statuses), "judged": judged, "calls": calls}
    )


def run(load: Load, *, paced: bool, remaining_s: float, latency_s: float) -> dict:
    from tests.bedrock_emulator import Script, bedrock_emulator

    ctx = mp.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    script = Script(latency_s=latency_s, quota_per_s=load.quota_per_s)
    with bedrock_emulator(script) as emu:
        os.environ["JUDGE_PACING"] = "adaptive" if paced else "off"
        procs = [
            ctx.Process(target=invocation, args=(w, load.samples, remaining_s, ready, start, results))
            for w in range(load.invocations)
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=300)
        time.sleep(1.5)  # the token bucket refills; nothing else is calling
        emu.admitted = emu.throttled = 0
        emu._tokens = None  # a full bucket at the start, as after a quiet minute
        requests_before = len(emu.requests)
        began = time.monotonic()
        start.set()
        outs = [results.get(timeout=remaining_s + 120) for _ in procs]
        wall = time.monotonic() - began
        for p in procs:
            p.join(timeout=30)
        total_calls = len(emu.requests) - requests_before
        admitted, throttled = emu.admitted, emu.throttled
    statuses: Counter = Counter()
    for out in outs:
        statuses.update(out["statuses"])
    samples = load.invocations * load.samples
    possible = min(load.needed, load.quota_per_s * remaining_s)
    return {
        "judged": sum(o["judged"] for o in outs) / samples,
        "results_ok": statuses["ok"] / load.needed,
        "of_possible": statuses["ok"] / possible,
        "calls_per_needed": total_calls / load.needed,
        "throttled": throttled / max(1, total_calls),
        "calls": total_calls,
        "admitted": admitted,
        "statuses": {k: v for k, v in statuses.items() if k != "ok"},
        "slowest": max(o["took"] for o in outs),
        "wall": wall,
        "minimum": load.needed / load.quota_per_s,
        "late": sum(o["took"] >= remaining_s for o in outs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", action="append", help="NxS@Q: N invocations x S samples @ Q req/s")
    parser.add_argument("--remaining", type=float, default=60.0, help="Lambda time remaining, seconds")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per admitted call")
    parser.add_argument("--only", choices=("before", "after"), help="run one side only")
    args = parser.parse_args()
    loads = [Load.parse(x) for x in (args.load or LOADS)]
    sides = {args.only} if args.only else {"before", "after"}
    print(
        f"support_rubric (2 judge calls per sample), {args.remaining:g} s remaining per invocation, "
        f"admitted calls take {args.latency * 1000:.0f} ms\n"
    )
    header = (
        f"{'load':<22} {'side':<7} {'judged':>7} {'ok res':>7} {'of poss':>8} {'calls/need':>10} "
        f"{'throttled':>9} {'slowest':>8} {'min':>6}  other statuses"
    )
    print(header)
    for load in loads:
        for name, paced in (("before", False), ("after", True)):
            if name not in sides:
                continue
            r = run(load, paced=paced, remaining_s=args.remaining, latency_s=args.latency)
            late = f" LATE x{r['late']}" if r["late"] else ""
            print(
                f"{load!s:<22} {name:<7} {r['judged']:7.1%} {r['results_ok']:7.1%} {r['of_possible']:8.1%} "
                f"{r['calls_per_needed']:10.2f} {r['throttled']:9.1%} {r['slowest']:7.1f}s "
                f"{r['minimum']:5.1f}s  {r['statuses'] or '-'}{late}",
                flush=True,
            )


if __name__ == "__main__":
    main()
