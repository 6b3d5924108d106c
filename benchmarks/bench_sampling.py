#!/usr/bin/env python3
"""``rft baseline``'s sampling against the Bedrock Runtime emulator at a fixed latency per call.

    python benchmarks/bench_sampling.py                 # ~100 s: 256 calls at 300 ms, both ways
    python benchmarks/bench_sampling.py --calls 128 --latency 0.3 --concurrency 16 --cached 1000

1. **Concurrency**: 256 Converse calls (64 prompts x 4 samples) at 300 ms each through
   ``rft.sampling.RuntimeSampler`` (boto3 -> ``tests/bedrock_emulator.py``, a real HTTP server on
   127.0.0.1 that plays a policy model): ``--concurrency 16`` vs the baseline, the same sampler with one
   call in flight (what a loop of ``converse`` calls does). Target: >= 12x.
2. **Cached re-run**: 1,000 responses (250 prompts x 4) sampled once into a fresh ``--out``; then the
   same ``rft baseline`` run again in-process (cache read from disk, every key found, graded, reports and
   PNG written). Target: zero calls, under 2 s. The sampling layer alone (build requests, read the cache,
   look every key up) is timed too.

Printed, not asserted (the machine is shared).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from rft.cli import main  # noqa: E402
from rft.rows import load_rows  # noqa: E402
from rft.sampling import (  # noqa: E402
    InferenceSettings,
    ResponseCache,
    RuntimeSampler,
    build_requests,
    sample_all,
)
from tests.bedrock_emulator import Script, bedrock_emulator  # noqa: E402
from tests.policy_runs import BASE_ID, GSM8K, write_task  # noqa: E402

SETTINGS = InferenceSettings(max_tokens=1024, reasoning_effort="low")


def timed_sampling(task, prompts: int, samples: int, concurrency: int, out: Path) -> tuple[float, int, int]:
    """(seconds, responses, max calls in flight) for sampling every request into an empty cache."""
    rows = load_rows(task.path, limit=prompts)
    requests = build_requests(rows, BASE_ID, SETTINGS, samples)
    sampler = RuntimeSampler(concurrency=concurrency)
    started = time.perf_counter()
    run = sample_all(requests, sampler, ResponseCache(out))
    elapsed = time.perf_counter() - started
    return elapsed, sum(r.status == "ok" for r in run.responses.values()), sampler.max_in_flight


def bench_concurrency(args: argparse.Namespace, tmp: Path) -> None:
    samples = 4
    prompts = args.calls // samples
    task = write_task(tmp / "conc", prompts)
    policy = task.policy([0.5] * prompts)
    print(
        f"1. {prompts * samples} calls ({prompts} prompts x {samples}) at {args.latency * 1000:.0f} ms per call"
    )
    with bedrock_emulator(Script(latency_s=args.latency, policies={BASE_ID: policy})) as emu:
        timed_sampling(task, 2, 1, 1, tmp / "warm")  # client creation and imports, outside the timings
        start = len(emu.requests)
        ours, ours_ok, ours_peak = timed_sampling(task, prompts, samples, args.concurrency, tmp / "c16")
        ours_calls = len(emu.requests) - start
        start = len(emu.requests)
        base, base_ok, _ = timed_sampling(task, prompts, samples, 1, tmp / "c1")
        base_calls = len(emu.requests) - start
    print(f"   {'':<34}{'seconds':>9}{'calls':>7}{'answered':>10}")
    print(f"   {'baseline: one call at a time':<34}{base:>9.2f}{base_calls:>7}{base_ok:>10}")
    label = f"ours: concurrency {args.concurrency} (peak {ours_peak})"
    print(f"   {label:<34}{ours:>9.2f}{ours_calls:>7}{ours_ok:>10}")
    speedup = base / ours
    print(f"   speedup {speedup:.1f}x   target >= 12x: {'meets' if speedup >= 12 else 'MISSES'}")


def bench_cached(args: argparse.Namespace, tmp: Path) -> None:
    samples = 4
    prompts = args.cached // samples
    task = write_task(tmp / "cached", prompts)
    out = tmp / "cached" / "out"
    argv = ["baseline", "--data", str(task.path), "--spec", GSM8K, "--samples", str(samples)]
    argv += ["--reasoning-effort", "low", "--max-tokens", "1024", "--out", str(out), "--yes", "--json"]
    print(f"\n2. cached re-run of {prompts * samples} responses ({prompts} prompts x {samples})")
    with bedrock_emulator(Script(policies={BASE_ID: task.policy([0.5] * prompts)})) as emu:
        started = time.perf_counter()
        assert main(argv, out=io.StringIO(), err=io.StringIO()) == 0
        first = time.perf_counter() - started
        first_calls = len(emu.requests)
        started = time.perf_counter()
        assert main(argv, out=io.StringIO(), err=io.StringIO()) == 0
        again = time.perf_counter() - started
        again_calls = len(emu.requests) - first_calls
        rows = load_rows(task.path)
        started = time.perf_counter()
        requests = build_requests(rows, BASE_ID, SETTINGS, samples)
        cache = ResponseCache(out / "cache")
        missing = sum(1 for r in requests if cache.get(r.key) is None)
        layer = time.perf_counter() - started
    print(f"   first run (sampled, graded, reported): {first:6.2f} s, {first_calls} calls")
    print(f"   re-run   (cached, graded, reported):  {again:6.2f} s, {again_calls} calls")
    print(f"   sampling layer alone (keys + cache read + lookups): {layer * 1000:.0f} ms, {missing} missing")
    ok = again_calls == 0 and again < 2.0
    print(f"   target: no calls, under 2 s: {'meets' if ok else 'MISSES'}")


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cached", type=int, default=1000)
    parser.add_argument("--skip-concurrency", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_concurrency:
            bench_concurrency(args, Path(tmp))
        bench_cached(args, Path(tmp))


if __name__ == "__main__":
    main_bench()
