#!/usr/bin/env python3
"""Handler overhead per sample for ``reward_specs/gsm8k.toml`` on one core: parse + grade + compose + reply.

    python benchmarks/bench_handler.py              # ~15 s: 64-sample batches, best of 5 rounds
    python benchmarks/bench_handler.py --profile    # also print the top of a cProfile run

Target: >= 20,000 samples/s. Baseline, measured in the same run: a trivial handler that echoes each id
with a constant score (the cost of the Python loop and the event itself).

Telemetry (``reward.telemetry``) is measured as on Lambda: EMF metrics printed and the INFO batch line
logged (stdout and stderr go to /dev/null while measuring), against the same handler with telemetry
switched off (its two calls replaced by no-ops), rounds interleaved. Target: overhead <= 5 %.
Numbers are printed, not asserted: the machine is shared and timings move.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda_src"))
os.environ.setdefault("REWARD_SPEC", str(ROOT / "reward_specs/gsm8k.toml"))
os.environ.setdefault("LOG_LEVEL", "INFO")  # the deployed default: one INFO line per batch
os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # print EMF as on Lambda (to /dev/null here)

from reward import handler, telemetry  # noqa: E402

RESPONSES = (
    "Each pen costs $1.25, so 7 pens cost 7 * 1.25 = 8.75. The change is 10 - 8.75 = 1.25.\n#### {a}",
    "First leg: 40 * 2 = 80 km. Second leg: 50 * 3 = 150 km. Total 80 + 150 = 230 km.\n#### {b}",
    "The answer is {a}.",
    "Let me think. {a} or {b}?\n#### {a} or {b}",
    "Thought process:",
    "\\boxed{{{a}}}",
    "",
    "We compute step by step and get {b}. Then we double-check: {b}.\n#### {b}",
)


def make_event(n: int, rng: random.Random) -> list[dict]:
    event = []
    for i in range(n):
        answer = rng.randint(1, 500)
        text = rng.choice(RESPONSES).format(a=answer, b=answer + rng.choice((0, 1)))
        event.append(
            {
                "id": f"sample-{i:03d}",
                "messages": [
                    {"role": "system", "content": "You are a careful math tutor."},
                    {"role": "user", "content": f"Question {i}? Give the final answer as #### <answer>"},
                    {"role": "assistant", "content": text},
                ],
                "metadata": {"reference_answer": {"final_answer": str(answer)}, "task_id": f"t{i}"},
            }
        )
    return event


def echo_handler(event: list, context: object = None) -> list[dict]:
    """The baseline: what any handler must at least do (read each element, answer its id)."""
    return [{"id": e.get("id"), "aggregate_reward_score": 0.0, "metrics_list": []} for e in event]


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def rate(fn, events: list[list[dict]], rounds: int) -> float:
    """Best samples/s over ``rounds`` passes through ``events``, in CPU time of this process (steadier than
    wall time on a shared machine); stdout/stderr go to /dev/null meanwhile."""
    n = sum(len(e) for e in events)
    best = 0.0
    context = Context()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for _ in range(rounds):
            started = time.process_time()
            for event in events:
                fn(event, context)
            best = max(best, n / (time.process_time() - started))
    return best


@contextlib.contextmanager
def telemetry_replaced(wrap: Callable[[Callable], Callable]) -> Iterator[None]:
    """The handler with telemetry's two calls, ``begin_invocation`` and ``record_batch``, each ``wrap``ped."""
    saved = telemetry.begin_invocation, telemetry.record_batch
    telemetry.begin_invocation, telemetry.record_batch = (wrap(f) for f in saved)
    try:
        yield
    finally:
        telemetry.begin_invocation, telemetry.record_batch = saved


def _off(fn: Callable) -> Callable:
    return lambda *args, **kwargs: None


def telemetry_rates(events: list[list[dict]], rounds: int) -> tuple[float, float, float, float]:
    """Telemetry on vs off, measured alternately: (samples/s on, samples/s off, median of the per-round
    on/off time ratios, share of the on-time spent inside the telemetry calls themselves).

    The paired ratio cancels the machine's drifts; the direct share leaves out what telemetry costs the
    rest of the handler indirectly (caches evicted by the logging machinery)."""
    on = off = 0.0
    ratios = []
    direct = [0.0]

    def timed(fn):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            fn(*args, **kwargs)
            direct[0] += time.process_time() - started

        return wrapper

    on_time = 0.0
    for _ in range(rounds):
        with telemetry_replaced(timed):
            r_on = rate(handler.lambda_handler, events, 1)
        with telemetry_replaced(_off):
            r_off = rate(handler.lambda_handler, events, 1)
        on, off = max(on, r_on), max(off, r_off)
        ratios.append(r_off / r_on)
        on_time += sum(len(e) for e in events) / r_on
    return on, off, statistics.median(ratios), direct[0] / on_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="samples per invocation")
    parser.add_argument("--batches", type=int, default=300, help="invocations per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    rng = random.Random(7)
    events = [make_event(args.batch, rng) for _ in range(args.batches)]
    rate(handler.lambda_handler, events[:1], 1)  # load the spec outside the measurement

    baseline = rate(echo_handler, events, args.rounds)
    measured, without, ratio, direct = telemetry_rates(events, args.rounds)
    print(
        f"spec: {os.environ['REWARD_SPEC']}  batch: {args.batch}  samples/round: {args.batch * args.batches}"
    )
    print(f"{'':34}{'samples/s':>12}{'us/sample':>12}")
    print(f"{'baseline (echo handler)':34}{baseline:12,.0f}{1e6 / baseline:12.2f}")
    print(f"{'lambda_handler (gsm8k)':34}{measured:12,.0f}{1e6 / measured:12.2f}")
    print(f"{'lambda_handler, telemetry off':34}{without:12,.0f}{1e6 / without:12.2f}")
    verdict = "meets" if measured >= 20_000 else "MISSES"
    print(f"target >= 20,000 samples/s on one core: {verdict} ({measured / 20_000:.2f}x)")
    overhead = (ratio - 1.0) * 100.0  # extra time per sample, relative to the handler without telemetry
    per_batch_us = (ratio - 1.0) * 1e6 / without * args.batch
    verdict = "meets" if overhead <= 5.0 else "MISSES"
    print(
        f"telemetry overhead (EMF + INFO batch line), median of paired rounds: {overhead:.1f} % "
        f"= {per_batch_us:.0f} us per {args.batch}-sample batch; target <= 5 %: {verdict}"
    )
    print(f"  of which inside the telemetry calls: {direct * 100:.1f} % of handler time")

    if args.profile:
        profiler = cProfile.Profile()
        with (
            open(os.devnull, "w") as sink,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            profiler.enable()
            for event in events[:100]:
                handler.lambda_handler(event, Context())
            profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())


if __name__ == "__main__":
    main()
