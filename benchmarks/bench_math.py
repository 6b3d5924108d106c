#!/usr/bin/env python3
"""``math`` spec throughput vs a plain sequential ``verify(parse(gold), parse(pred))`` loop, same pairs.

    python benchmarks/bench_math.py                 # ~40 s: 240 pairs clean, then 240 with 5% pathological
    python benchmarks/bench_math.py --pairs 600     # a bigger corpus

Corpus: the references of ``data/math/validation.jsonl`` paired with responses that state the answer in
another form, a wrong answer, a hedge, or no final answer (fixed seed). The "mixed" corpus replaces 5% of
the responses with inputs that hang sympy in C code (Math-Verify issue #65 and friends).

- ours: ``lambda_handler`` with ``reward_specs/math.toml`` (correctness + format + length, composed),
  heavy dimension in the worker pool (both cores); the per-sample budget is ``--budget`` seconds.
- baseline: one process, ``verify(parse(gold), parse(pred))`` per pair with math-verify's defaults (its
  own signal-based timeouts), in a subprocess capped at ``--cap`` seconds: it may hang, which is the point.

Target: ours >= 1.5x the baseline on the clean corpus, and zero hangs on the mixed one. Printed, not
asserted (the machine is shared; re-run when it is quiet).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))
os.environ["REWARD_SPEC"] = str(ROOT / "reward_specs/math.toml")
os.environ.setdefault("LOG_LEVEL", "WARNING")

PATHOLOGICAL = (
    "\\boxed{\\dfrac{5^{(5^{(5^{5^5})} - 4)} - 5}{16}}",  # Math-Verify issue #65
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{(10^{10})!}",
    "\\boxed{10^{10^{10^{10}}} - 1}",
)
FORMS = (
    "We simplify carefully.\n\nThe final answer is $\\boxed{{{answer}}}$.",
    "Step by step, the result follows.\n\\boxed{{{answer}}}",
    "Checking again confirms it. The answer is ${answer}$.",
)


def corpus(pairs: int, pathological_share: float, seed: int = 11) -> list[tuple[str, str]]:
    """(gold, response) pairs; deterministic."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in (ROOT / "data/math/validation.jsonl").read_text().splitlines()]
    out = []
    for i in range(pairs):
        gold = rows[i % len(rows)]["reference_answer"]["final_answer"]
        kind = rng.random()
        if kind < 0.55:
            answer = gold
        elif kind < 0.85:
            answer = f"{gold} + 1"  # wrong (a different value or expression)
        elif kind < 0.95:
            answer = f"{gold} \\text{{ or }} 0"  # hedged
        else:
            out.append((gold, "I am not sure."))  # no final answer
            continue
        out.append((gold, rng.choice(FORMS).format(answer=answer)))
    n_bad = round(pairs * pathological_share)
    for k, i in enumerate(rng.sample(range(pairs), n_bad)):
        out[i] = (out[i][0], PATHOLOGICAL[k % len(PATHOLOGICAL)])
    return out


def baseline_child(path: str) -> None:
    """Runs in a subprocess: the plain loop, one line per finished pair, then the loop time."""
    import logging

    logging.disable(logging.WARNING)
    from math_verify import parse, verify

    pairs = json.loads(Path(path).read_text())
    started = time.perf_counter()
    for gold, pred in pairs:
        verify(parse(f"${gold}$"), parse(pred))
        print("pair", flush=True)
    print(f"seconds {time.perf_counter() - started:.6f}", flush=True)


def run_baseline(pairs: list[tuple[str, str]], cap: float) -> tuple[float | None, int]:
    """(loop seconds or None if capped, pairs finished)."""
    with tempfile.TemporaryDirectory() as tmp:
        data, log = Path(tmp) / "pairs.json", Path(tmp) / "out.txt"
        data.write_text(json.dumps(pairs))
        with log.open("w") as out:
            child = subprocess.Popen([sys.executable, __file__, "--baseline-child", str(data)], stdout=out)
            try:
                child.wait(timeout=cap)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        lines = log.read_text().splitlines()
    done = sum(1 for line in lines if line == "pair")
    seconds = next((float(line.split()[1]) for line in lines if line.startswith("seconds ")), None)
    return seconds, done


def event_for(pairs: list[tuple[str, str]], offset: int) -> list[dict]:
    return [
        {
            "id": f"p{offset + i}",
            "messages": [{"role": "user", "content": "Solve."}, {"role": "assistant", "content": pred}],
            "reference_answer": {"final_answer": gold},
        }
        for i, (gold, pred) in enumerate(pairs)
    ]


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def run_ours(pairs: list[tuple[str, str]], batch: int) -> tuple[float, Counter]:
    from reward import handler

    statuses: Counter = Counter()
    started = time.perf_counter()
    for offset in range(0, len(pairs), batch):
        for element in handler.lambda_handler(event_for(pairs[offset : offset + batch], offset), Context()):
            for metric in element["metrics_list"]:
                if metric["name"].startswith("correctness.status."):
                    statuses[metric["name"].rsplit(".", 1)[1]] += 1
    elapsed = time.perf_counter() - started
    statuses["ok"] = len(pairs) - sum(statuses.values())
    return elapsed, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=240)
    parser.add_argument("--batch", type=int, default=64, help="samples per invocation")
    parser.add_argument("--budget", type=float, default=1.0, help="per-sample budget, seconds")
    parser.add_argument("--cap", type=float, default=20.0, help="baseline subprocess cap, seconds")
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        baseline_child(args.baseline_child)
        return

    from reward import handler, workers

    spec = handler.current_spec()
    handler._load.cache_clear()
    patched = dataclasses.replace(spec, sample_timeout_s=args.budget)
    handler.current_spec = lambda: patched  # type: ignore[assignment]
    pool = workers.get_pool()
    warm_started = time.perf_counter()
    handler.lambda_handler(event_for(corpus(4, 0.0), 0), Context())  # start + warm the workers
    warm = time.perf_counter() - warm_started
    print(f"workers: {pool.size} ({pool._method()}), first heavy batch incl. start-up: {warm:.2f} s")
    print(
        f"pairs: {args.pairs}, batch: {args.batch}, per-sample budget: {args.budget:g} s, cap: {args.cap:g} s\n"
    )

    clean = corpus(args.pairs, 0.0)
    mixed = corpus(args.pairs, 0.05)
    base_clean, done_clean = run_baseline(clean, args.cap)
    ours_clean, statuses_clean = run_ours(clean, args.batch)
    base_mixed, done_mixed = run_baseline(mixed, args.cap)
    ours_mixed, statuses_mixed = run_ours(mixed, args.batch)

    def fmt(seconds: float | None, done: int, n: int) -> str:
        if seconds is None:
            return f"hung: capped at {args.cap:g} s after {done}/{n} pairs"
        return f"{seconds:7.2f} s  {n / seconds:8.1f} pairs/s"

    print(f"{'corpus':8} {'baseline (sequential parse+verify)':44} {'ours (math spec, workers)':30} speedup")
    for name, base, done, ours, n in (
        ("clean", base_clean, done_clean, ours_clean, len(clean)),
        ("mixed", base_mixed, done_mixed, ours_mixed, len(mixed)),
    ):
        speedup = f"{base / ours:.2f}x" if base else "n/a"
        print(f"{name:8} {fmt(base, done, n):44} {ours:7.2f} s  {n / ours:8.1f} pairs/s  {speedup}")
    print(f"\nstatuses (clean): {dict(statuses_clean)}")
    print(f"statuses (mixed): {dict(statuses_mixed)}")
    print("hangs: 0 (every call returned; inputs over the budget ended as status timeout)")
    pool.close()


if __name__ == "__main__":
    main()
