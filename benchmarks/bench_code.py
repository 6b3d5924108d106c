#!/usr/bin/env python3
"""The local code runner (``code_runner.run_batch``) vs a naive one-``subprocess.run``-per-test loop.

    python benchmarks/bench_code.py                # ~2 min: 3 rounds of 64-sample batches, then hostile
    python benchmarks/bench_code.py --rounds 5 --batch 64 --hostile 0.1

Corpus: ``data/code/validation.jsonl`` (function, program and assert-style tasks, 7 tests each); every
sample answers with the row's reference solution, or (one in four) a subtly wrong variant.

- ours: one ``run_batch`` request per 64-sample batch (one sandboxed harness process per sample running
  all its tests, samples in parallel on every core, limits, Landlock and seccomp on);
- baseline, in the same run: for each sample and each test, ``subprocess.run([python, "-c", program +
  the test call])`` with a timeout, the output compared in the parent (no limits, no isolation);
- hostile: the same batch with ``--hostile`` of the samples replaced by attacks (infinite loop, memory bomb,
  fork storm, kill the parent, huge output, os._exit), graded the way ``reward_specs/code.toml`` does
  (all-or-nothing: a sample stops at its first failed test) and with every test run (fraction credit).

Printed, not asserted; the machine is shared (re-run when it is quiet before quoting numbers).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))

from code_runner import run_batch  # noqa: E402
from code_runner.compare import normalize_output, values_equal  # noqa: E402
from reward.code_hacks import programs  # noqa: E402
from reward.code_tasks import job_for, read_task  # noqa: E402

HOSTILE = [
    ("infinite_loop", "busy"),
    ("memory_bomb", "list"),
    ("fork_storm", "os.fork"),
    ("kill_parent", "kill -1"),
    ("huge_output", "print"),
    ("exit_early", "os._exit(0)"),
]


def corpus(batch: int, seed: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (ROOT / "data/code/validation.jsonl").read_text().splitlines()]
    rng = random.Random(seed)
    jobs = []
    for k in range(batch):
        row = rows[(seed * batch + k) % len(rows)]
        task, _ = read_task(row["reference_answer"])
        program = task.solution
        if rng.random() < 0.25:  # a plausible wrong answer: off by one somewhere
            program = program.replace(" + ", " - ", 1) if " + " in program else program.replace("1", "2", 1)
        jobs.append(job_for(task, f"s{k}", program, {}))
    return jobs


def naive(jobs: list[dict[str, Any]], timeout: float) -> int:
    """One interpreter per test, sequentially; returns tests passed."""
    from code_runner.asserts import parse_asserts

    passed = 0
    for job in jobs:
        if job["format"] == "function":
            for test in job["tests"]:
                call = f"{job['entry_point']}(*{test['args']!r}, **{test['kwargs']!r})"
                source = job["program"] + f"\nimport json\nprint(json.dumps({call}))\n"
                out = _run([sys.executable, "-c", source], "", timeout)
                with contextlib.suppress(ValueError):
                    passed += out is not None and values_equal(json.loads(out), test["expected"])
        elif job["format"] == "program":
            for test in job["tests"]:
                out = _run([sys.executable, "-c", job["program"]], test["stdin"], timeout)
                passed += out is not None and normalize_output(out) == normalize_output(test["stdout"])
        else:
            for test in parse_asserts(job["test_code"]).tests:
                source = job["program"] + f"\nassert ({test.source}) == {test.expected!r}\n"
                passed += _run([sys.executable, "-c", source], "", timeout) is not None
    return passed


def _run(argv: list[str], stdin: str, timeout: float) -> str | None:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None


def hostile_batch(jobs: list[dict[str, Any]], share: float, seed: int, stop: bool) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = [dict(j, stop_on_failure=stop) for j in jobs]
    count = max(1, round(len(jobs) * share))
    for n, k in enumerate(rng.sample(range(len(jobs)), count)):
        job = out[k]
        task, _ = read_task(
            {"entry_point": job["entry_point"], "tests": job["tests"]}
            if job["format"] != "assert"
            else {"entry_point": job["entry_point"], "test_code": job["test_code"]}
        )
        attacks = programs(task)
        family = HOSTILE[n % len(HOSTILE)]
        job["program"] = attacks.get(family) or next(iter(attacks.values()))
        job["id"] = f"{job['id']}:{family[0]}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hostile", type=float, default=0.1, help="share of hostile samples (default 0.1)")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    print(f"batch: {args.batch} samples, {args.rounds} rounds\n")
    print(
        f"{'round':>5} {'ours s':>8} {'ours/s':>8} {'naive s':>8} {'naive/s':>8} {'speedup':>8}  tests passed"
    )
    ours_rates, naive_rates = [], []
    for r in range(args.rounds):
        jobs = corpus(args.batch, seed=r)
        started = time.perf_counter()
        reply = run_batch({"version": 1, "jobs": jobs})
        ours = time.perf_counter() - started
        ours_passed = sum(x["passed"] for x in reply["results"])
        started = time.perf_counter()
        naive_passed = naive(jobs, timeout=2.0)
        base = time.perf_counter() - started
        ours_rates.append(args.batch / ours)
        naive_rates.append(args.batch / base)
        print(
            f"{r + 1:>5} {ours:>8.2f} {args.batch / ours:>8.1f} {base:>8.2f} {args.batch / base:>8.1f} "
            f"{base / ours:>7.2f}x  ours {ours_passed}, naive {naive_passed}"
        )
    ratio = statistics.median(ours_rates) / statistics.median(naive_rates)
    print(
        f"\nmedian: ours {statistics.median(ours_rates):.1f} samples/s, naive {statistics.median(naive_rates):.1f} "
        f"samples/s: {ratio:.2f}x (target >= 3x: {'meets' if ratio >= 3 else 'misses'})\n"
    )
    print(f"hostile batches ({args.hostile:.0%} attacks: {', '.join(f for f, _ in HOSTILE)}):")
    for stop, label in ((True, "all-or-nothing (code.toml)"), (False, "every test run (fraction)")):
        jobs = hostile_batch(corpus(args.batch, seed=99), args.hostile, seed=7, stop=stop)
        started = time.perf_counter()
        reply = run_batch({"version": 1, "jobs": jobs})
        seconds = time.perf_counter() - started
        statuses = sorted({r["status"] for r in reply["results"]})
        hostile_passed = sum(r["passed"] for r in reply["results"] if ":" in r["id"])
        print(
            f"  {label:<28} {seconds:6.2f} s for {args.batch} samples; statuses {statuses}; "
            f"tests passed by attacks: {hostile_passed}"
        )


if __name__ == "__main__":
    main()
